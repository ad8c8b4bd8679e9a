package imagemap

import (
	"bytes"
	"testing"
)

func FuzzParseLock(f *testing.F) {
	f.Add([]byte(`{"version":1,"entries":[{"source":"a/b:1","destination":"r/b:1","digest":"sha256:x","time":"2026-01-01T00:00:00Z"}]}`))
	f.Add([]byte(`{"version":99}`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := ParseLock(data)
		if err != nil {
			return
		}
		out, err := l.Bytes()
		if err != nil {
			return
		}
		again, err := ParseLock(out)
		if err != nil {
			t.Fatalf("rendered lock does not parse: %v\n%s", err, out)
		}
		out2, err := again.Bytes()
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("lock rendering not stable:\n%s\n---\n%s", out, out2)
		}
	})
}
