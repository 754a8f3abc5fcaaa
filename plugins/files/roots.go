package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
)

// roots are the allowed directories: clean absolute guest paths, each the
// mount point of a folder the operator granted. Tests use host folders.
type roots []string

func (r roots) String() string { return strings.Join(r, ", ") }

// within reports whether the clean absolute path p is root or under it.
func within(p, root string) bool {
	return p == root || root == "/" || strings.HasPrefix(p, root+"/")
}

// resolve turns a path a model passed into a clean absolute guest path
// inside one of the roots. A relative path is taken from the first root;
// ".." is refused outright, so a path never climbs, even back inside.
func (r roots) resolve(p string) (string, error) {
	if p == "" {
		return "", fmt.Errorf("path is empty: pass a path inside one of the allowed directories (%s)", r)
	}
	if strings.ContainsRune(p, 0) {
		return "", fmt.Errorf("path %q holds a NUL byte", p)
	}
	for _, elem := range strings.Split(p, "/") {
		if elem == ".." {
			return "", fmt.Errorf("path %q contains \"..\", which this tool refuses: pass a path inside one of the allowed directories (%s) without \"..\"", p, r)
		}
	}
	if !strings.HasPrefix(p, "/") {
		if len(r) == 0 {
			return "", errNoRoots
		}
		p = r[0] + "/" + p
	}
	p = path.Clean(p)
	for _, root := range r {
		if within(p, root) {
			return p, nil
		}
	}
	return "", fmt.Errorf("path %q is outside the allowed directories (%s); list_allowed_directories names them", p, r)
}

var errNoRoots = errors.New("no directories are allowed")

// noLinks refuses a path that passes through a symbolic link below its
// root: the tools neither follow links nor let one lead out of a mount.
// Components that do not exist yet (as for a file about to be written)
// are fine.
func (r roots) noLinks(p string) error {
	root := ""
	for _, rt := range r {
		if within(p, rt) && len(rt) > len(root) {
			root = rt
		}
	}
	rest := strings.TrimPrefix(strings.TrimPrefix(p, root), "/")
	cur := root
	for rest != "" {
		elem, after, _ := strings.Cut(rest, "/")
		cur, rest = path.Join(cur, elem), after
		fi, err := os.Lstat(cur)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fsError("checking "+cur, err)
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("path %q goes through the symbolic link %s, which this tool does not follow; use the path of the file it points to", p, cur)
		}
	}
	return nil
}

// open resolves a path and checks it for links.
func (r roots) open(p string) (string, error) {
	p, err := r.resolve(p)
	if err != nil {
		return "", err
	}
	return p, r.noLinks(p)
}
