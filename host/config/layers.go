package config

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/v2"
	"gopkg.in/yaml.v3"
)

// How layers become one configuration:
//
//  1. Each file is read on its own: its ${env:} and ${file:} references are
//     replaced, its relative paths are made absolute against its own folder,
//     and it is decoded strictly into a throwaway Config, so unknown keys,
//     duplicate keys and bad values are refused with the file's name and
//     line.
//  2. Its tree, every scalar kept as the text written (so that 1.10 stays
//     1.10 and 0123 stays 0123 in a grants.config value), is merged over
//     the layers before it by koanf: mappings merge key by key, anything
//     else (a list, a scalar, null) replaces what was there.
//  3. The MOAT_ variables are merged last, through koanf's env provider.
//  4. The merged tree is decoded by the same strict walker, whose fields
//     decide what each text means, then defaults are filled in and the
//     whole is validated; an error there names the layer and line that
//     set the key.

// document is one configuration file, or the one document given to Parse.
type document struct {
	source string // names it in errors
	data   []byte
	dir    string // relative paths and ${file:} references start here
}

// layer is one document or the environment, ready to merge.
type layer struct {
	// provider gives the layer to koanf; nil for a document, whose tree is
	// given through confmap.
	provider koanf.Provider
	tree     map[string]any
	// origins says where each key path was set: "prod.yaml: line 4" or
	// "environment variable MOAT_LISTEN".
	origins map[string]string
	// mappings are the key paths whose value is a mapping, which merge
	// rather than replace.
	mappings map[string]bool
	// secret are the key paths whose value holds a reference.
	secret map[string]bool
	// values are the values the references read.
	values []string
}

func newLayer() *layer {
	return &layer{tree: map[string]any{}, origins: map[string]string{}, mappings: map[string]bool{}, secret: map[string]bool{}}
}

// build merges docs and then the environment's MOAT_ variables (when
// applyEnv) into a checked Config. lookup resolves ${env:} references;
// base is what the default plugins_dir is relative to; wd is what relative
// paths from the environment are relative to.
func build(docs []document, environ []string, lookup func(string) (string, bool), applyEnv bool, base, wd string) (*Config, error) {
	var layers []*layer
	for _, d := range docs {
		l, err := readDocument(d, lookup)
		if err != nil {
			return nil, err
		}
		layers = append(layers, l)
	}
	if applyEnv {
		l, err := readEnv(environ, wd)
		if err != nil {
			return nil, err
		}
		layers = append(layers, l)
	}

	k := koanf.New(".")
	c := &Config{dir: base, origins: map[string]string{}, secretPaths: map[string]bool{}}
	for i, l := range layers {
		p := l.provider
		if p == nil {
			// Keys may hold dots (a plugin named wx.v2), so the tree goes
			// in nested and is never flattened: no delimiter.
			p = confmap.Provider(l.tree, "")
		}
		if err := k.Load(p, nil); err != nil {
			return nil, fmt.Errorf("merging configuration layer %d: %w", i+1, err)
		}
		c.track(l)
	}

	if err := decode(toNode(k.Raw()), reflect.ValueOf(c).Elem(), ""); err != nil {
		return nil, fmt.Errorf("%s: %w", c.sources(docs), err)
	}
	c.pluginsDirSet = c.PluginsDir != ""
	c.applyDefaults()
	if err := c.validate(); err != nil {
		return nil, c.attribute(err, docs)
	}
	return c, nil
}

// readDocument replaces the references and resolves the paths of one
// document, checks it strictly on its own, and returns it as a layer.
func readDocument(d document, lookup func(string) (string, bool)) (*layer, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(d.data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", d.source, err)
	}
	l := newLayer()
	if len(doc.Content) == 0 {
		return l, nil
	}
	root := doc.Content[0]
	p := preparer{doc: d, lookup: lookup, layer: l, done: map[*yaml.Node]bool{}, secretNode: map[*yaml.Node]bool{}}
	if err := p.walk(root, "", nil); err != nil {
		return nil, fmt.Errorf("%s: %w", d.source, err)
	}
	var probe Config
	if err := decode(root, reflect.ValueOf(&probe).Elem(), ""); err != nil {
		return nil, fmt.Errorf("%s: %w", d.source, err)
	}
	if tree, ok := toTree(root).(map[string]any); ok {
		l.tree = tree
	}
	return l, nil
}

// preparer walks one document, replacing references in place and making
// relative paths absolute, and records where each key was set.
type preparer struct {
	doc    document
	lookup func(string) (string, bool)
	layer  *layer
	// done and secretNode keep a node reached twice through an alias from
	// being expanded twice.
	done       map[*yaml.Node]bool
	secretNode map[*yaml.Node]bool
	// open are the mappings and lists being walked, so that an alias to
	// one of them (a cycle) is refused rather than followed forever;
	// visits counts nodes, aliases expanded, against maxVisits.
	open   map[*yaml.Node]bool
	visits int
}

// maxVisits bounds the nodes a document may expand to through aliases: a
// few aliases of aliases can otherwise stand for billions of values.
const maxVisits = 1 << 14

func (p *preparer) walk(n *yaml.Node, path string, segs []string) error {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		if p.open[n.Alias] {
			return fmt.Errorf("%salias *%s%s refers to a value that contains it; YAML aliases must not form a cycle", at(n), n.Value, in(path))
		}
		n = n.Alias
	}
	if p.visits++; p.visits > maxVisits {
		return fmt.Errorf("%sthe document expands to more than %d values through its aliases; write the values out, or use fewer aliases of aliases", at(n), maxVisits)
	}
	if n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode {
		if p.open == nil {
			p.open = map[*yaml.Node]bool{}
		}
		p.open[n] = true
		defer delete(p.open, n)
	}
	if path != "" {
		p.layer.origins[path] = fmt.Sprintf("%s: line %d", p.doc.source, n.Line)
	}
	switch n.Kind {
	case yaml.MappingNode:
		if path != "" {
			p.layer.mappings[path] = true
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			if err := p.walk(n.Content[i+1], join(path, key), append(slices.Clip(segs), key)); err != nil {
				return err
			}
		}
	case yaml.SequenceNode:
		for i, item := range n.Content {
			if err := p.walk(item, fmt.Sprintf("%s[%d]", path, i), append(slices.Clip(segs), "["+strconv.Itoa(i)+"]")); err != nil {
				return err
			}
		}
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return nil
		}
		if !p.done[n] {
			p.done[n] = true
			value, refs, err := expand(n.Value, p.lookup, p.doc.dir)
			if err != nil {
				return fmt.Errorf("%s%s: %w", at(n), path, err)
			}
			n.Value = value
			if len(refs) > 0 {
				p.secretNode[n] = true
				p.layer.values = append(p.layer.values, refs...)
			}
			if isPathKey(segs) && isFilePath(segs, n.Value) {
				n.Value = resolveIn(p.doc.dir, n.Value)
			}
		}
		if p.secretNode[n] {
			p.layer.secret[path] = true
		}
	}
	return nil
}

// isPathKey reports whether the key at segs holds a path, which is
// relative to the folder of the file that sets it.
func isPathKey(segs []string) bool {
	switch len(segs) {
	case 1:
		return segs[0] == "plugins_dir" || segs[0] == "cache_dir" || segs[0] == "data_dir"
	case 2:
		return segs[0] == "tls" && (segs[1] == "cert" || segs[1] == "key" || segs[1] == "client_ca") ||
			segs[0] == "audit" && segs[1] == "path"
	case 3:
		return segs[0] == "plugins" && segs[2] == "path" ||
			segs[0] == "auth" && segs[1] == "jwt" && segs[2] == "jwks_file"
	case 6: // plugins.NAME.grants.fs[i].path
		return segs[0] == "plugins" && segs[2] == "grants" && segs[3] == "fs" && segs[5] == "path"
	}
	return false
}

// isFilePath reports whether value, set at the path key segs, names a file
// rather than meaning "not set" or, for audit.path, stderr.
func isFilePath(segs []string, value string) bool {
	if value == "" {
		return false
	}
	return !(len(segs) == 2 && segs[0] == "audit" && value == "stderr")
}

// toTree turns a checked node into the plain tree koanf merges: mappings,
// lists, nil, and every scalar as the text written.
func toTree(n *yaml.Node) any {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			m[n.Content[i].Value] = toTree(n.Content[i+1])
		}
		return m
	case yaml.SequenceNode:
		list := make([]any, len(n.Content))
		for i, item := range n.Content {
			list[i] = toTree(item)
		}
		return list
	}
	if n.ShortTag() == "!!null" {
		return nil
	}
	return n.Value
}

// toNode turns a merged tree back into a node for decode. Its nodes have
// no line: the merge has none to give.
func toNode(v any) *yaml.Node {
	switch v := v.(type) {
	case map[string]any:
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k}, toNode(v[k]))
		}
		return n
	case []any:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for _, item := range v {
			n.Content = append(n.Content, toNode(item))
		}
		return n
	case nil:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
	case string:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v}
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: fmt.Sprint(v)}
}

// track follows the merge of l into c: where each key now comes from, and
// which values now hold a reference. A key that l sets to anything but a
// mapping replaces all that was under it.
func (c *Config) track(l *layer) {
	for path := range l.origins {
		if l.mappings[path] {
			continue
		}
		for old := range c.secretPaths {
			if under(old, path) {
				delete(c.secretPaths, old)
			}
		}
		for old := range c.origins {
			if under(old, path) {
				delete(c.origins, old)
			}
		}
	}
	for path, origin := range l.origins {
		c.origins[path] = origin
	}
	for path := range l.secret {
		c.secretPaths[path] = true
	}
	c.secrets = append(c.secrets, l.values...)
}

// under reports whether the key path p is path or lies within it.
func under(p, path string) bool {
	rest, ok := strings.CutPrefix(p, path)
	return ok && (rest == "" || rest[0] == '.' || rest[0] == '[')
}

// attribute puts before a validation error the layer and line that set its
// key, or, if no layer set it, the sources read.
func (c *Config) attribute(err error, docs []document) error {
	key, _, _ := strings.Cut(err.Error(), ": ")
	for k := key; k != ""; k = parent(k) {
		if origin, ok := c.origins[k]; ok {
			return fmt.Errorf("%s: %w", origin, err)
		}
	}
	return fmt.Errorf("%s: %w", c.sources(docs), err)
}

// parent is the key path that holds p, or "".
func parent(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}

// sources names the documents read, for an error no one key explains.
func (c *Config) sources(docs []document) string {
	if len(docs) == 0 {
		return "configuration"
	}
	names := make([]string, len(docs))
	for i, d := range docs {
		names[i] = d.source
	}
	return strings.Join(names, ", ")
}
