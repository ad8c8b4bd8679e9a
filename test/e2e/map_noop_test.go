package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/s3blob" // the s3:// URLs of the test server

	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/testenv"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/imagemap"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/store"
)

// stamp is what says an object was not rewritten: its bytes, and its
// modification time (and, for a file, its inode: a rewrite renames a new
// file over it).
type stamp struct {
	data  []byte
	mtime time.Time
	inode uint64
}

// stamper reads the stamps of the map and its siblings in one bucket.
type stamper func(t *testing.T, key string) stamp

func fileStamper(root string) stamper {
	return func(t *testing.T, key string) stamp {
		t.Helper()
		p := filepath.Join(root, filepath.FromSlash(key))
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("reading %s: %v", p, err)
		}
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		var inode uint64
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			inode = st.Ino
		}
		return stamp{data: data, mtime: fi.ModTime(), inode: inode}
	}
}

func s3Stamper(t *testing.T, bucketURL string) stamper {
	t.Helper()
	b, err := blob.OpenBucket(t.Context(), bucketURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return func(t *testing.T, key string) stamp {
		t.Helper()
		data, err := b.ReadAll(context.Background(), key)
		if err != nil {
			t.Fatalf("reading s3 object %s: %v", key, err)
		}
		attrs, err := b.Attributes(context.Background(), key)
		if err != nil {
			t.Fatal(err)
		}
		return stamp{data: data, mtime: attrs.ModTime}
	}
}

func sameStamp(t *testing.T, what string, before, after stamp) {
	t.Helper()
	if !bytes.Equal(before.data, after.data) {
		t.Errorf("%s changed:\n--- before ---\n%s\n--- after ---\n%s", what, before.data, after.data)
	}
	if !before.mtime.Equal(after.mtime) || before.inode != after.inode {
		t.Errorf("%s was rewritten: modified %v (inode %d), then %v (inode %d)", what, before.mtime, before.inode, after.mtime, after.inode)
	}
}

// respell writes the entries of a map the way a person might: single
// quotes, four-space indentation, a comment under images:. The SDR reads
// the same entries; a tool that rewrites what it did not change would show
// here.
func respell(t *testing.T, data []byte) []byte {
	t.Helper()
	m, err := imagemap.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("# owned by the platform team\nimages:\n    # mirrored by kubectl sdr-mirror\n")
	for _, e := range m.Entries() {
		fmt.Fprintf(&b, "    '%s':   %s\n", e.Source, e.Destination)
	}
	return []byte(b.String())
}

// TestMapNoOpSyncWritesNothing: a sync that changes no entry leaves the
// map, its .bak and its lock file untouched (bytes and modification time)
// and says the map is unchanged, in a file:// bucket and in a real S3
// server, even when the stored map is spelled differently from how the
// tool would write it.
func TestMapNoOpSyncWritesNothing(t *testing.T) {
	for _, bucket := range []string{"file", "s3"} {
		t.Run(bucket, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			w := newWorld(t, 61, 0, 2)
			read := fileStamper(filepath.Join(w.dir, "bucket"))
			if bucket == "s3" {
				w.moveMapToS3(t, func(endpoint string) string { return endpoint })
				read = s3Stamper(t, w.bucket[1])
			}
			all := filepath.Join(w.dir, "images.txt")
			out, err := w.run(ctx, w.syncArgs(all)...)
			if err != nil {
				t.Fatalf("first sync failed: %v\n%s", err, out)
			}
			if !strings.Contains(out, "wrote the image map: 2 added, 0 removed") {
				t.Fatalf("the first sync did not write the map:\n%s", out)
			}
			// Respelled by hand after the first sync: same entries.
			if err := w.mapObj.Write(ctx, respell(t, w.readMap(t)), store.Any); err != nil {
				t.Fatal(err)
			}
			const mapKey, bakKey, lockKey = "sdr/image-map.yaml", "sdr/image-map.yaml.bak", "sdr/image-map.yaml.lock.json"
			before := map[string]stamp{}
			for _, k := range []string{mapKey, bakKey, lockKey} {
				before[k] = read(t, k)
			}
			time.Sleep(1100 * time.Millisecond) // S3 keeps modification times to the second

			for _, args := range [][]string{w.syncArgs(all), append(w.syncArgs(all), "--dry-run")} {
				out, err = w.run(ctx, args...)
				if err != nil {
					t.Fatalf("%q failed: %v\n%s", args, err, out)
				}
				if !strings.Contains(out, "image map unchanged") || strings.Contains(out, "image map:") || strings.Contains(out, "+++") {
					t.Errorf("%q: want the map reported unchanged and no diff:\n%s", args, out)
				}
				for _, k := range []string{mapKey, bakKey, lockKey} {
					sameStamp(t, k, before[k], read(t, k))
				}
			}
		})
	}
}

// TestMapEditsKeepTheCommentUnderImages: removing the last entry under a
// comment indented below images: leaves the comment where it was, in a
// file:// bucket and in a real S3 server; a set that changes nothing then
// writes nothing, and a set that adds an entry puts it under the comment.
func TestMapEditsKeepTheCommentUnderImages(t *testing.T) {
	const text = "# Image map for the SDR in prod.\nimages:\n  # managed by kubectl sdr-mirror\n  \"atlanhq/atlan-teradata-app\": \"registry.example.com/atlan/atlan-teradata-app\"\nrelease:\n  name: my-sdr-release\n"
	const emptied = "# Image map for the SDR in prod.\nimages: {}\n  # managed by kubectl sdr-mirror\nrelease:\n  name: my-sdr-release\n"
	const added = "# Image map for the SDR in prod.\nimages:\n  # managed by kubectl sdr-mirror\n  \"atlanhq/atlan-postgres-app\": \"registry.example.com/atlan/atlan-postgres-app\"\nrelease:\n  name: my-sdr-release\n"
	for _, bucket := range []string{"file", "s3"} {
		t.Run(bucket, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			dir := t.TempDir()
			var (
				bucketURL string
				env       []string
				read      stamper
			)
			switch bucket {
			case "file":
				bucketURL = "file://" + dir
				read = fileStamper(dir)
			case "s3":
				endpoint := testenv.StartVersityGW(t, s3Key, s3Secret, "sdr-map-comments")
				t.Setenv("AWS_ACCESS_KEY_ID", s3Key)
				t.Setenv("AWS_SECRET_ACCESS_KEY", s3Secret)
				bucketURL = "s3://sdr-map-comments?endpoint=" + endpoint + "&region=us-east-1&use_path_style=true"
				env = []string{"AWS_ACCESS_KEY_ID=" + s3Key, "AWS_SECRET_ACCESS_KEY=" + s3Secret}
				read = s3Stamper(t, bucketURL)
			}
			obj, err := store.OpenBucket(ctx, bucketURL, "sdr/image-map.yaml")
			if err != nil {
				t.Fatal(err)
			}
			defer obj.Close()
			if err := obj.Write(ctx, []byte(text), store.Any); err != nil {
				t.Fatal(err)
			}
			w := &world{env: env}
			mapArgs := func(args ...string) []string {
				return append(append([]string{"map"}, args...), "--bucket", bucketURL, "--image-map-path", "sdr/image-map.yaml")
			}

			out, err := w.run(ctx, mapArgs("rm", "atlanhq/atlan-teradata-app")...)
			if err != nil {
				t.Fatalf("map rm failed: %v\n%s", err, out)
			}
			got := read(t, "sdr/image-map.yaml")
			if string(got.data) != emptied {
				t.Fatalf("after removing the last entry the map is\n%s\nwant\n%s", got.data, emptied)
			}
			if bak := read(t, "sdr/image-map.yaml.bak"); string(bak.data) != text {
				t.Errorf(".bak after map rm is\n%s\nwant the map before it", bak.data)
			}

			// Nothing to change: nothing written, however often it runs.
			before := map[string]stamp{"sdr/image-map.yaml": got, "sdr/image-map.yaml.bak": read(t, "sdr/image-map.yaml.bak")}
			time.Sleep(1100 * time.Millisecond)
			if out, err := w.run(ctx, mapArgs("validate")...); err != nil || !strings.Contains(out, "0 entries, no problems") {
				t.Errorf("map validate on the emptied map: %v\n%s", err, out)
			}
			for k, b := range before {
				sameStamp(t, k, b, read(t, k))
			}

			out, err = w.run(ctx, mapArgs("set", "atlanhq/atlan-postgres-app", "registry.example.com/atlan/atlan-postgres-app")...)
			if err != nil {
				t.Fatalf("map set failed: %v\n%s", err, out)
			}
			if got := read(t, "sdr/image-map.yaml"); string(got.data) != added {
				t.Fatalf("after map set the map is\n%s\nwant\n%s", got.data, added)
			}
			before = map[string]stamp{"sdr/image-map.yaml": read(t, "sdr/image-map.yaml"), "sdr/image-map.yaml.bak": read(t, "sdr/image-map.yaml.bak")}
			time.Sleep(1100 * time.Millisecond)
			out, err = w.run(ctx, mapArgs("set", "atlanhq/atlan-postgres-app", "registry.example.com/atlan/atlan-postgres-app")...)
			if err != nil || !strings.HasPrefix(out, "unchanged ") {
				t.Fatalf("map set of the same entry: %v\n%s", err, out)
			}
			for k, b := range before {
				sameStamp(t, k, b, read(t, k))
			}
		})
	}
}
