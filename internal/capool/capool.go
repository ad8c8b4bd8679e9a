// Package capool builds the set of CAs a TLS client trusts: the system's
// roots plus the PEM files the user names.
package capool

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// Read returns the content of a PEM file of CA certificates. what names the
// file in errors ("registry CA file"); a file without one certificate is
// an error.
func Read(what, file string) ([]byte, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("reading %s %q: %w", what, file, err)
	}
	if !x509.NewCertPool().AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s %q holds no PEM certificate; give the CA certificate (-----BEGIN CERTIFICATE-----)", what, file)
	}
	return b, nil
}

// Pool returns base (the system roots when base is nil) with the
// certificates in pems added; base itself is not changed.
func Pool(base *x509.CertPool, pems ...[]byte) *x509.CertPool {
	var pool *x509.CertPool
	switch {
	case base != nil:
		pool = base.Clone()
	default:
		sys, err := x509.SystemCertPool()
		if err != nil || sys == nil {
			sys = x509.NewCertPool()
		}
		pool = sys
	}
	for _, p := range pems {
		pool.AppendCertsFromPEM(p)
	}
	return pool
}

// Config returns a copy of base (a default client configuration when nil)
// trusting its roots, or the system's, plus the certificates in pems.
func Config(base *tls.Config, pems ...[]byte) *tls.Config {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if base != nil {
		c = base.Clone()
	}
	c.RootCAs = Pool(c.RootCAs, pems...)
	return c
}

// Untrusted reports whether err is a TLS certificate signed by a CA the
// client does not trust.
func Untrusted(err error) bool {
	var unknown x509.UnknownAuthorityError
	return err != nil && (errors.As(err, &unknown) || strings.Contains(err.Error(), "certificate signed by unknown authority"))
}

// Hint explains an untrusted certificate and names what trusts it (a
// flag); it is empty for any other error.
func Hint(err error, remedy string) string {
	if !Untrusted(err) {
		return ""
	}
	return "; the server's certificate is signed by a CA this machine does not trust: pass that CA's PEM file with " + remedy
}
