package main_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// certificate makes a key pair signed by parent (or self-signed when parent
// is nil) and writes both as PEM into dir.
func certificate(t *testing.T, dir, name string, tmpl *x509.Certificate, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = big.NewInt(time.Now().UnixNano())
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	writeFile(t, filepath.Join(dir, name+".pem"), string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	writeFile(t, filepath.Join(dir, name+".key"), string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})))
	cert, _ := x509.ParseCertificate(der)
	return cert, key
}

func TestMutualTLS(t *testing.T) {
	needBuild(t)
	dir := t.TempDir()
	ca, caKey := certificate(t, dir, "ca", &x509.Certificate{Subject: pkix.Name{CommonName: "moat test CA"}, IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}, nil, nil)
	certificate(t, dir, "server", &x509.Certificate{Subject: pkix.Name{CommonName: "moat"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, ca, caKey)
	certificate(t, dir, "client", &x509.Certificate{Subject: pkix.Name{CommonName: "agent"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, ca, caKey)
	config := filepath.Join(dir, "moat.yaml")
	writeFile(t, config, "tls: {cert: server.pem, key: server.key, client_ca: ca.pem}\n")
	srv := startHTTP(t, "--config", config, "--plugins", pluginsDir)
	if srv.url[:8] != "https://" {
		t.Fatalf("moat serves %s; want https", srv.url)
	}

	roots := x509.NewCertPool()
	roots.AddCert(ca)
	clientCert, err := tls.LoadX509KeyPair(filepath.Join(dir, "client.pem"), filepath.Join(dir, "client.key"))
	if err != nil {
		t.Fatal(err)
	}
	withCert := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{clientCert}}}}
	s := connect(t, &mcp.StreamableClientTransport{Endpoint: srv.url, HTTPClient: withCert}, "2025-11-25")
	if res := callTool(t, s, "time_get_current_time", map[string]any{"timezone": "UTC"}); res.IsError {
		t.Fatal(text(res))
	}

	without := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := mcp.NewClient(&mcp.Implementation{Name: "nocert"}, nil).Connect(ctx, &mcp.StreamableClientTransport{Endpoint: srv.url, HTTPClient: without}, nil); err == nil {
		t.Fatal("a client without a certificate connected")
	}
	old := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{clientCert}, MaxVersion: tls.VersionTLS11}}}
	if resp, err := old.Get(srv.url); err == nil {
		resp.Body.Close()
		t.Fatal("TLS 1.1 was accepted")
	}
}
