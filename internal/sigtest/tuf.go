package sigtest

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// TUFRepo is a TUF repository, signed with keys made for it, that
// publishes a trusted_root.json the way Sigstore's does, with consistent
// snapshots: root version 1 (the anchor a client starts from); version 2,
// which rotates the root key (signed by the old key and the new) and the
// online key timestamp, snapshot and targets are signed with, so that
// version 1 alone vouches for none of them; version 3, signed by the new
// root key; and timestamp, snapshot and targets.
type TUFRepo struct {
	// Files are the repository's files by path: 1.root.json to
	// 3.root.json, timestamp.json, 1.snapshot.json, 1.targets.json and
	// targets/<sha256>.trusted_root.json.
	Files map[string][]byte
	// Anchor is 1.root.json, which a client trusts to start with.
	Anchor []byte
}

// NewTUFRepo signs a repository publishing trustedRoot. The roots expire
// in ten years; timestamp, snapshot and targets at expires.
func NewTUFRepo(trustedRoot []byte, expires time.Time) (*TUFRepo, error) {
	var keys [4]*tufKey
	for i := range keys {
		var err error
		if keys[i], err = newTUFKey(); err != nil {
			return nil, err
		}
	}
	oldRoot, newRoot, oldOnline, online := keys[0], keys[1], keys[2], keys[3]
	r := &TUFRepo{Files: map[string][]byte{}}
	rootExpires := time.Now().UTC().AddDate(10, 0, 0).Truncate(time.Second)
	expires = expires.UTC().Truncate(time.Second)
	onlineRoles := []string{metadata.TIMESTAMP, metadata.SNAPSHOT, metadata.TARGETS}

	root := metadata.Root(rootExpires)
	if err := root.Signed.AddKey(oldRoot.key, metadata.ROOT); err != nil {
		return nil, err
	}
	for _, role := range onlineRoles {
		if err := root.Signed.AddKey(oldOnline.key, role); err != nil {
			return nil, err
		}
	}
	var err error
	if r.Anchor, err = signTUF(root, oldRoot); err != nil {
		return nil, err
	}
	r.Files["1.root.json"] = r.Anchor

	// Version 2 rotates the keys: the old root key vouches for the new.
	root.Signatures = nil
	root.Signed.Version = 2
	for _, role := range append([]string{metadata.ROOT}, onlineRoles...) {
		old := oldOnline
		if role == metadata.ROOT {
			old = oldRoot
		}
		if err := root.Signed.RevokeKey(old.id, role); err != nil {
			return nil, err
		}
	}
	if err := root.Signed.AddKey(newRoot.key, metadata.ROOT); err != nil {
		return nil, err
	}
	for _, role := range onlineRoles {
		if err := root.Signed.AddKey(online.key, role); err != nil {
			return nil, err
		}
	}
	if r.Files["2.root.json"], err = signTUF(root, oldRoot, newRoot); err != nil {
		return nil, err
	}
	root.Signatures = nil
	root.Signed.Version = 3
	if r.Files["3.root.json"], err = signTUF(root, newRoot); err != nil {
		return nil, err
	}

	targets := metadata.Targets(expires)
	tf, err := metadata.TargetFile().FromBytes("trusted_root.json", trustedRoot, "sha256")
	if err != nil {
		return nil, err
	}
	targets.Signed.Targets["trusted_root.json"] = tf
	if r.Files["1.targets.json"], err = signTUF(targets, online); err != nil {
		return nil, err
	}
	r.Files["targets/"+hex.EncodeToString(tf.Hashes["sha256"])+".trusted_root.json"] = trustedRoot

	snapshot := metadata.Snapshot(expires)
	if r.Files["1.snapshot.json"], err = signTUF(snapshot, online); err != nil {
		return nil, err
	}
	timestamp := metadata.Timestamp(expires)
	if r.Files["timestamp.json"], err = signTUF(timestamp, online); err != nil {
		return nil, err
	}
	return r, nil
}

// Metadata is what a TUF client anchored at Anchor fetches to reach the
// trusted root, by the names it keeps them under: 2.root.json,
// 3.root.json, timestamp.json, snapshot.json and targets.json.
func (r *TUFRepo) Metadata() map[string][]byte {
	return map[string][]byte{"2.root.json": r.Files["2.root.json"], "3.root.json": r.Files["3.root.json"], "timestamp.json": r.Files["timestamp.json"],
		"snapshot.json": r.Files["1.snapshot.json"], "targets.json": r.Files["1.targets.json"]}
}

// ServeHTTP serves the repository's files; any other path is 404, which
// tells a client there is no newer root.
func (r *TUFRepo) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	data, ok := r.Files[strings.TrimPrefix(req.URL.Path, "/")]
	if !ok {
		http.NotFound(w, req)
		return
	}
	_, _ = w.Write(data)
}

type tufKey struct {
	signer signature.Signer
	key    *metadata.Key
	id     string
}

func newTUFKey() (*tufKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	s, err := signature.LoadED25519SignerVerifier(priv)
	if err != nil {
		return nil, err
	}
	k, err := metadata.KeyFromPublicKey(pub)
	if err != nil {
		return nil, err
	}
	id, err := k.ID()
	if err != nil {
		return nil, err
	}
	return &tufKey{signer: s, key: k, id: id}, nil
}

func signTUF[T metadata.Roles](m *metadata.Metadata[T], keys ...*tufKey) ([]byte, error) {
	for _, k := range keys {
		if _, err := m.Sign(k.signer); err != nil {
			return nil, fmt.Errorf("signing TUF metadata: %w", err)
		}
	}
	return m.ToBytes(true)
}
