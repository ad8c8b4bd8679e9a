package store

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/imagemap"
)

// Planted credentials: distinctive strings that must never appear in an
// error or output.
const (
	plantedAccessKey = "AKIDSDRMIRRORPLANTED7"
	plantedSecretKey = "sdrMirrorPlantedS3Secret/9f8e7d6c5b4a"
	plantedAzureAcct = "sdrmirrortest"
	plantedGCSToken  = "ya29.sdrMirrorPlantedGcsToken-1b2c3d" //nolint:gosec // a planted test value
)

// plantedAzureKey is a valid (base64) account key that is just as
// distinctive.
var plantedAzureKey = base64.StdEncoding.EncodeToString([]byte("sdr-mirror-planted-azure-account-key-0123456789"))

const mapKey = "sdr/image-map.yaml"

// backend is one storage provider under test.
type backend struct {
	name string
	// open opens key with a client of its own, as another process would.
	open func(t *testing.T, key string) Object
	// openFailing opens key through a path on which every write of key
	// breaks off half-way through its body.
	openFailing func(t *testing.T, key string) Object
	// component describes the bucket as the SDR's objectstore, its
	// credentials in secrets; nil when the provider has no Dapr binding.
	component *Component
	secrets   map[string]string
	// planted are the credential values of this backend.
	planted []string
}

func (b *backend) secretGetter() SecretGetter {
	return SecretGetterFunc(func(_ context.Context, name, key string) ([]byte, error) {
		v, ok := b.secrets[name+"/"+key]
		if !ok {
			return nil, fmt.Errorf("secret %q has no key %q", name, key)
		}
		return []byte(v), nil
	})
}

func ref(name, key string) *SecretKeyRef { return &SecretKeyRef{Name: name, Key: key} }

func fromComponent(t *testing.T, b *backend, c *Component, key string) Object {
	t.Helper()
	o, err := OpenComponent(context.Background(), c, key, b.secretGetter())
	if err != nil {
		t.Fatalf("OpenComponent(%s): %v", c.Type, err)
	}
	t.Cleanup(func() { _ = o.Close() })
	return o
}

// withEndpoint is c with its endpoint metadata replaced.
func withEndpoint(c *Component, endpoint string) *Component {
	out := *c
	out.Metadata = nil
	for _, it := range c.Metadata {
		if it.Name == "endpoint" {
			it.Value = endpoint
		}
		out.Metadata = append(out.Metadata, it)
	}
	return &out
}

func fileBackend(t *testing.T) *backend {
	dir := t.TempDir()
	b := &backend{
		name: "file",
		component: &Component{Name: "objectstore", Type: "bindings.localstorage", Metadata: []MetadataItem{
			{Name: "rootPath", SecretKeyRef: ref("sdr-local", "root")},
		}},
		secrets: map[string]string{"sdr-local/root": dir},
	}
	b.open = func(t *testing.T, key string) Object {
		o, err := OpenBucket(context.Background(), "file://"+dir, key)
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	b.openFailing = func(t *testing.T, key string) Object {
		// The temporary file the map is written to fails half-way.
		orig := createTemp
		createTemp = func(dir, pattern string) (tempFile, error) {
			f, err := orig(dir, pattern)
			if err != nil || pattern != "."+filepath.Base(key)+".*.tmp" {
				return f, err
			}
			return &halfFile{tempFile: f}, nil
		}
		t.Cleanup(func() { createTemp = orig })
		return b.open(t, key)
	}
	return b
}

// halfFile accepts half of what is written to it, then fails.
type halfFile struct{ tempFile }

func (h *halfFile) Write(p []byte) (int, error) {
	n, _ := h.tempFile.Write(p[:len(p)/2])
	return n, errors.New("no space left on device")
}

func memBackend(t *testing.T) *backend {
	root, err := OpenBucket(context.Background(), "mem://", mapKey)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = root.Close() })
	b := &backend{name: "mem"}
	b.open = func(_ *testing.T, key string) Object { return root.Sibling(key) }
	b.openFailing = func(_ *testing.T, key string) Object { return &cancelOnWrite{Object: root.Sibling(key)} }
	return b
}

// cancelOnWrite cancels the write's context as it starts: the upload is
// abandoned part-way.
type cancelOnWrite struct{ Object }

func (c *cancelOnWrite) Write(ctx context.Context, data []byte, v Version) error {
	ctx, cancel := context.WithCancel(ctx)
	cancel()
	return c.Object.Write(ctx, data, v)
}

// failingProxy forwards to upstream, except that a write (PUT, POST,
// PATCH) of key — not of its backup — sends the server only the first
// half of its body and then drops the client's connection. upstreamHost
// sends the upstream's Host header (fake-gcs-server serves object reads
// only for its public host); S3 signs the Host header, so it keeps the
// proxy's.
func failingProxy(t *testing.T, upstream, key string, upstreamHost bool) string {
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ErrorLog = nil
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		_ = r.Body.Close()
		target, _ := url.QueryUnescape(r.URL.String())
		isWrite := r.Method == http.MethodPut || r.Method == http.MethodPost || r.Method == http.MethodPatch
		names := strings.Contains(target, key) || bytes.Contains(body, []byte(key))
		backup := strings.Contains(target, key+".") || bytes.Contains(body, []byte(key+"."))
		if upstreamHost {
			r.Host = u.Host
		}
		if !isWrite || !names || backup {
			r.Body = io.NopCloser(bytes.NewReader(body))
			rp.ServeHTTP(w, r)
			return
		}
		// Send half the body upstream, then break the request off.
		up, _ := http.NewRequestWithContext(r.Context(), r.Method, upstream+r.URL.RequestURI(),
			io.MultiReader(bytes.NewReader(body[:len(body)/2]), errReader{}))
		up.Header = r.Header.Clone()
		up.Host = r.Host
		up.ContentLength = int64(len(body))
		if resp, err := http.DefaultTransport.RoundTrip(up); err == nil {
			_ = resp.Body.Close()
		}
		hj, ok := w.(http.Hijacker)
		if !ok {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		conn, _, err := hj.Hijack()
		if err == nil {
			_ = conn.Close()
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection lost") }

func setEntry(src, dst string) func(*imagemap.ImageMap) error {
	return func(m *imagemap.ImageMap) error { _, err := m.Set(src, dst); return err }
}

const commented = `# Image map for the SDR in eu-west-1. Owned by the platform team.
images:
  # every tag of teradata
  "atlanhq/atlan-teradata-app": "registry.example.com/atlan/atlan-teradata-app" # mirrored nightly
  "atlanhq/atlan-teradata-app:3.1.4": "registry.example.com/atlan/teradata:3.1.4-approved"
custom: keep-me
release:
  name: my-sdr-release
  storage_namespace: flux-system
`

// TestStoreSuite runs the same tests against every provider: file://,
// mem:// and, with -tags integration, real S3 (versitygw), Azure (Azurite)
// and GCS (fake-gcs-server) servers on 127.0.0.1.
func TestStoreSuite(t *testing.T) {
	for _, setup := range append([]namedBackend{
		{"file", fileBackend}, {"mem", memBackend}}, serverBackends...) {
		t.Run(setup.name, func(t *testing.T) {
			b := setup.fn(t)
			var errs []string // every error seen, checked for planted secrets at the end
			record := func(err error) error {
				if err != nil {
					errs = append(errs, err.Error())
				}
				return err
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()

			t.Run("round trip", func(t *testing.T) {
				obj := b.open(t, "round/image-map.yaml")
				if _, err := LoadMap(ctx, obj); !errors.Is(record(err), ErrNotFound) {
					t.Fatalf("LoadMap(absent) = %v, want ErrNotFound", err)
				}
				res, err := Update(ctx, obj, setEntry("atlanhq/a", "reg.example.com/a"))
				if record(err) != nil || !res.Written {
					t.Fatalf("Update(add to absent map) = %+v, %v", res, err)
				}
				data, v1, err := obj.Read(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if string(data) != string(res.New) {
					t.Errorf("Read() = %q, want what was written %q", data, res.New)
				}
				m, err := LoadMap(ctx, obj)
				if err != nil {
					t.Fatal(err)
				}
				if r, _ := (&imagemap.Resolver{Map: m}).Resolve("atlanhq/a:1.0"); r.Resolved != "reg.example.com/a:1.0" {
					t.Errorf("Resolve(atlanhq/a:1.0) = %q, want %q", r.Resolved, "reg.example.com/a:1.0")
				}
				// A write conditional on a stale or absent version is refused.
				if err := obj.Write(ctx, []byte("images: {}\n"), Version{}); !errors.Is(record(err), ErrConflict) {
					t.Errorf("Write(if absent) on an existing object = %v, want ErrConflict", err)
				}
				if err := obj.Write(ctx, []byte("images: {}\n"), v1); err != nil {
					t.Fatalf("Write(if at current version) = %v", err)
				}
				if err := obj.Write(ctx, []byte("images: {}\n# x\n"), v1); !errors.Is(record(err), ErrConflict) {
					t.Errorf("Write(if at a stale version) = %v, want ErrConflict", err)
				}
				if got, _, _ := obj.Read(ctx); string(got) != "images: {}\n" {
					t.Errorf("after a refused write the object is %q, want %q", got, "images: {}\n")
				}
				// The lock file beside the map goes through the same write.
				lock := obj.Sibling(imagemap.LockKey("round/image-map.yaml"))
				when := time.Date(2026, 11, 22, 1, 0, 0, 0, time.UTC)
				if _, err := UpdateLock(ctx, lock, func(l *imagemap.Lock) error {
					l.Put(imagemap.LockEntry{Source: "atlanhq/a:1.0", Destination: "reg.example.com/a:1.0", Digest: "sha256:" + strings.Repeat("a", 64),
						Signer: &imagemap.Signer{Identity: "id", Issuer: "iss"}, Time: when, Why: []string{"helm"}})
					return nil
				}); record(err) != nil {
					t.Fatalf("UpdateLock() = %v", err)
				}
				l, err := LoadLock(ctx, lock)
				if err != nil || len(l.Entries) != 1 || l.Entries[0].Digest != "sha256:"+strings.Repeat("a", 64) || !l.Entries[0].Time.Equal(when) {
					t.Errorf("LoadLock() = %+v, %v; want the entry written", l, err)
				}
			})

			t.Run("comments preserved and previous version kept", func(t *testing.T) {
				obj := b.open(t, mapKey)
				if err := obj.Write(ctx, []byte(commented), Any); err != nil {
					t.Fatal(err)
				}
				res, err := Update(ctx, obj, setEntry("atlanhq/atlan-postgres-app", "registry.example.com/atlan/atlan-postgres-app"))
				if record(err) != nil {
					t.Fatal(err)
				}
				got, _, _ := obj.Read(ctx)
				for _, want := range []string{"# Image map for the SDR", "# every tag of teradata", "# mirrored nightly", "custom: keep-me",
					"storage_namespace: flux-system", `"atlanhq/atlan-postgres-app": "registry.example.com/atlan/atlan-postgres-app"`} {
					if !strings.Contains(string(got), want) {
						t.Errorf("map after Update lacks %q:\n%s", want, got)
					}
				}
				if string(res.Old) != commented {
					t.Errorf("Result.Old = %q, want the previous map", res.Old)
				}
				bak, _, err := obj.Sibling(BackupKey(mapKey)).Read(ctx)
				if err != nil || string(bak) != commented {
					t.Errorf("backup %q = %q, %v; want the previous map", BackupKey(mapKey), bak, err)
				}
				// A dry run writes nothing and says what would change.
				dry, err := Update(ctx, obj, setEntry("atlanhq/x", "reg/x"), DryRun(true))
				if err != nil || dry.Written || !strings.Contains(dry.Diff(mapKey), `+  "atlanhq/x": "reg/x"`) {
					t.Errorf("Update(dry run) = %+v, %v; diff:\n%s", dry, err, dry.Diff(mapKey))
				}
				if again, _, _ := obj.Read(ctx); string(again) != string(got) {
					t.Errorf("a dry run changed the map:\n%s", again)
				}
			})

			t.Run("an edit that changes no entry writes nothing", func(t *testing.T) {
				key := "noop/image-map.yaml"
				obj := b.open(t, key)
				bak := obj.Sibling(BackupKey(key))
				// Spelled as a person writes it, not as the tool would:
				// unquoted keys, four-space indentation, a comment under an
				// images block that has no entries left.
				const handWritten = "images:\n    atlanhq/a:   reg.example.com/atlan/a   # nightly\n    'atlanhq/b:1': reg.example.com/atlan/b:1\nrelease:\n    name: my-sdr-release\n"
				const emptyCommented = "images:\n  # managed by kubectl sdr-mirror\n"
				for _, tc := range []struct {
					name, text string
					edit       func(*imagemap.ImageMap) error
				}{
					{"nothing", handWritten, func(*imagemap.ImageMap) error { return nil }},
					{"an entry set to its value", handWritten, setEntry("atlanhq/a", "reg.example.com/atlan/a")},
					{"the release block as it is", handWritten, func(m *imagemap.ImageMap) error {
						m.SetRelease(&imagemap.Release{Name: "my-sdr-release"})
						return nil
					}},
					{"an empty map with a comment", emptyCommented, func(*imagemap.ImageMap) error { return nil }},
				} {
					if err := obj.Write(ctx, []byte(tc.text), Any); err != nil {
						t.Fatal(err)
					}
					const oldBackup = "images: {}\n# the backup from an earlier run\n"
					if err := bak.Write(ctx, []byte(oldBackup), Any); err != nil {
						t.Fatal(err)
					}
					_, before, err := obj.Read(ctx)
					if err != nil {
						t.Fatal(err)
					}
					for _, dry := range []bool{true, false} {
						res, err := Update(ctx, obj, tc.edit, DryRun(dry))
						if record(err) != nil {
							t.Fatalf("%s: Update(dry run %v) = %v", tc.name, dry, err)
						}
						if res.Changed || res.Written || res.Diff(key) != "" || string(res.New) != tc.text {
							t.Errorf("%s: Update(dry run %v) = changed %v, written %v, diff:\n%s", tc.name, dry, res.Changed, res.Written, res.Diff(key))
						}
					}
					got, after, err := obj.Read(ctx)
					if err != nil || string(got) != tc.text || after != before {
						t.Errorf("%s: map after a no-op Update = %q at version %v, %v; want it byte-identical at version %v", tc.name, got, after, err, before)
					}
					if got, _, err := bak.Read(ctx); err != nil || string(got) != oldBackup {
						t.Errorf("%s: backup after a no-op Update = %q, %v; want it untouched", tc.name, got, err)
					}
				}
				// An absent map with nothing to add stays absent.
				absent := b.open(t, "noop-absent/image-map.yaml")
				if res, err := Update(ctx, absent, func(*imagemap.ImageMap) error { return nil }); record(err) != nil || res.Written {
					t.Errorf("Update(no-op on an absent map) = %+v, %v; want nothing written", res, err)
				}
				if _, _, err := absent.Read(ctx); !errors.Is(err, ErrNotFound) {
					t.Errorf("a no-op Update created the map: %v", err)
				}
			})

			t.Run("removing the last entry keeps the comment under images", func(t *testing.T) {
				key := "lastentry/image-map.yaml"
				obj := b.open(t, key)
				const text = "images:\n  # managed by kubectl sdr-mirror\n  \"atlanhq/a\": \"reg.example.com/atlan/a\"\nrelease:\n  name: my-sdr-release\n"
				if err := obj.Write(ctx, []byte(text), Any); err != nil {
					t.Fatal(err)
				}
				if _, err := Update(ctx, obj, func(m *imagemap.ImageMap) error { return m.Remove("atlanhq/a") }); record(err) != nil {
					t.Fatal(err)
				}
				const want = "images: {}\n  # managed by kubectl sdr-mirror\nrelease:\n  name: my-sdr-release\n"
				if got, _, _ := obj.Read(ctx); string(got) != want {
					t.Errorf("map after removing its last entry =\n%s\nwant\n%s", got, want)
				}
				// Read back and edited again, the comment stays put.
				res, err := Update(ctx, obj, setEntry("atlanhq/b", "reg.example.com/atlan/b"))
				if record(err) != nil {
					t.Fatal(err)
				}
				const wantSet = "images:\n  # managed by kubectl sdr-mirror\n  \"atlanhq/b\": \"reg.example.com/atlan/b\"\nrelease:\n  name: my-sdr-release\n"
				if string(res.New) != wantSet {
					t.Errorf("map after adding to the emptied block =\n%s\nwant\n%s", res.New, wantSet)
				}
			})

			t.Run("8 concurrent writers all land", func(t *testing.T) {
				const writers = 8
				key := "concurrent/image-map.yaml"
				var wg sync.WaitGroup
				var attempts atomic.Int64
				start := time.Now()
				errc := make(chan error, writers)
				for i := range writers {
					obj := b.open(t, key)
					wg.Add(1)
					go func() {
						defer wg.Done()
						src := fmt.Sprintf("atlanhq/app-%d", i)
						res, err := Update(ctx, obj, setEntry(src, "registry.example.com/atlan/"+src[len("atlanhq/"):]))
						if err != nil {
							errc <- fmt.Errorf("writer %d: %w", i, err)
							return
						}
						attempts.Add(int64(res.Attempts))
					}()
				}
				wg.Wait()
				close(errc)
				t.Logf("%d writers landed in %v with %d attempts in all", writers, time.Since(start).Round(time.Millisecond), attempts.Load())
				for err := range errc {
					t.Error(record(err))
				}
				m, err := LoadMap(ctx, b.open(t, key))
				if err != nil {
					t.Fatal(err)
				}
				for i := range writers {
					src := fmt.Sprintf("atlanhq/app-%d", i)
					if _, ok := m.Lookup(src); !ok {
						t.Errorf("entry %q from writer %d is missing; the map holds %d entries", src, i, m.Len())
					}
				}
				if ps := m.Validate(); len(ps) > 0 {
					t.Errorf("map after concurrent writes has problems: %v", ps)
				}
			})

			t.Run("write failing mid-way leaves the old map", func(t *testing.T) {
				key := "failing/image-map.yaml"
				obj := b.open(t, key)
				if err := obj.Write(ctx, []byte(commented), Any); err != nil {
					t.Fatal(err)
				}
				failing := b.openFailing(t, key)
				if _, v, err := failing.Read(ctx); err != nil || v.Absent() {
					t.Fatalf("Read() through the failing path = %v, %v; want the map", v, err)
				}
				fctx, fcancel := context.WithTimeout(ctx, time.Minute)
				defer fcancel()
				_, err := Update(fctx, failing, setEntry("atlanhq/new", "reg/new"))
				if record(err) == nil {
					t.Fatal("Update through a connection that breaks mid-write succeeded")
				}
				if strings.Contains(err.Error(), "keeping the previous version") {
					t.Fatalf("Update failed while keeping the backup, not while writing the map: %v", err)
				}
				got, _, err := obj.Read(ctx)
				if err != nil || string(got) != commented {
					t.Errorf("map after a failed write = %q, %v; want it byte-identical:\n%s", got, err, commented)
				}
			})

			t.Run("unparsable map refused", func(t *testing.T) {
				key := "broken/image-map.yaml"
				obj := b.open(t, key)
				broken := "images:\n  \"atlanhq/a\": \"reg/a\"\n  \"atlanhq/b\": [\n"
				if err := obj.Write(ctx, []byte(broken), Any); err != nil {
					t.Fatal(err)
				}
				_, err := Update(ctx, obj, setEntry("atlanhq/c", "reg/c"))
				if record(err) == nil || !strings.Contains(err.Error(), obj.URL()) || !strings.Contains(err.Error(), "line ") {
					t.Fatalf("Update(unparsable map) = %v, want an error naming %q and the line", err, obj.URL())
				}
				if got, _, _ := obj.Read(ctx); string(got) != broken {
					t.Errorf("unparsable map was overwritten: %q", got)
				}
				if _, _, err := obj.Sibling(BackupKey(key)).Read(ctx); !errors.Is(err, ErrNotFound) {
					t.Errorf("a backup was written for a refused update: %v", err)
				}
			})

			if b.component != nil {
				t.Run("credentials from a Dapr component with secretKeyRef", func(t *testing.T) {
					obj := fromComponent(t, b, b.component, "component/image-map.yaml")
					if _, err := Update(ctx, obj, setEntry("atlanhq/a", "reg/a")); record(err) != nil {
						t.Fatalf("Update through the component = %v", err)
					}
					if m, err := LoadMap(ctx, b.open(t, "component/image-map.yaml")); err != nil || m.Len() != 1 {
						t.Errorf("map written through the component, read back = %v, %v", m, err)
					}
					for _, s := range b.planted {
						if strings.Contains(obj.URL(), s) {
							t.Errorf("URL() = %q holds a credential", obj.URL())
						}
					}
					// A missing secret is an error naming it.
					c := *b.component
					c.Metadata = append([]MetadataItem{}, c.Metadata...)
					c.Metadata[len(c.Metadata)-1].SecretKeyRef = ref("absent", "key")
					if _, err := OpenComponent(ctx, &c, mapKey, b.secretGetter()); record(err) == nil || !strings.Contains(err.Error(), `"absent"`) {
						t.Errorf("OpenComponent(missing secret) = %v, want an error naming the secret", err)
					}
					// Wrong credentials fail without showing them.
					if len(b.planted) > 0 {
						wrong := &backend{secrets: map[string]string{}}
						for k, v := range b.secrets {
							wrong.secrets[k] = v + "Wrong"
						}
						if o, err := OpenComponent(ctx, b.component, mapKey, wrong.secretGetter()); record(err) == nil {
							_, err = Update(ctx, o, setEntry("atlanhq/a", "reg/a"))
							_ = o.Close()
							if record(err) == nil && b.name != "gcs" { // the GCS emulator does not check tokens
								t.Error("Update with wrong credentials succeeded")
							}
						}
					}
				})
			}

			for _, e := range errs {
				for _, s := range b.planted {
					if strings.Contains(e, s) || strings.Contains(e, s+"Wrong") {
						t.Errorf("error shows a credential %q: %s", s, e)
					}
				}
			}
		})
	}
}

// namedBackend sets up one provider of the suite.
type namedBackend struct {
	name string
	fn   func(*testing.T) *backend
}

// serverBackends are the providers served by real servers on 127.0.0.1,
// added with -tags integration (make test).
var serverBackends []namedBackend

// checkOpenBucketURL opens u and writes to it twice.
func checkOpenBucketURL(t *testing.T, u string) {
	t.Helper()
	ctx := context.Background()
	obj, err := OpenBucket(ctx, u, mapKey)
	if err != nil {
		t.Fatalf("OpenBucket(%q) = %v", u, err)
	}
	defer obj.Close()
	if _, err := Update(ctx, obj, setEntry("atlanhq/a", "reg/a")); err != nil {
		t.Fatalf("Update via %q = %v", u, err)
	}
	if _, err := Update(ctx, obj, setEntry("atlanhq/b", "reg/b")); err != nil {
		t.Fatalf("second Update via %q = %v", u, err)
	}
	if m, err := LoadMap(ctx, obj); err != nil || m.Len() != 2 {
		t.Errorf("LoadMap via %q = %v, %v; want 2 entries", u, m, err)
	}
}

// TestOpenBucketURLs opens file:// and mem:// buckets through gocloud
// URLs (the servers: TestOpenBucketURLsServers, -tags integration).
func TestOpenBucketURLs(t *testing.T) {
	t.Run("file", func(t *testing.T) { checkOpenBucketURL(t, "file://"+t.TempDir()) })
	t.Run("mem", func(t *testing.T) { checkOpenBucketURL(t, "mem://") })
}
