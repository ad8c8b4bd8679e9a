package verify

import (
	"context"
	"testing"
)

// BenchmarkVerify measures one image's verification against an in-process
// registry: fetching its signatures and checking them. bench/
// verify-overhead.sh measures what the gate adds to a whole sync.
func BenchmarkVerify(b *testing.B) {
	ctx := context.Background()
	reg := newRegistry(b)
	s := newSigner(b, reg)
	classic := s.push("atlanhq/classic")
	s.signClassic(classic, testIdentity, testIssuer, simpleSigningPayload(classic))
	bundled := s.push("atlanhq/bundled")
	s.signReferrer(bundled, testIdentity, testIssuer)
	v, err := New(ctx, WithTrustedRootFile(s.trustedRoot()))
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		run  func() error
	}{
		{"signature-tag", func() error { _, err := v.Verify(ctx, classic); return err }},
		{"referrer", func() error { _, err := v.Verify(ctx, bundled); return err }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if err := bc.run(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
