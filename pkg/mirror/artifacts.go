package mirror

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// cosignSuffixes are the tags cosign attaches to sha256-<hex>.
var cosignSuffixes = []string{".sig", ".att", ".sbom"}

// tagList is a source repository's tags, listed once per Copy however many
// of its images are copied.
type tagList struct {
	once sync.Once
	tags map[string]bool
	err  error
}

// copyArtifacts copies, for every manifest the image copied unchanged, the
// cosign signature, attestation and SBOM tags and the OCI referrers
// (through the referrers API, or its tag fallback). A subject is in the
// destination before anything that refers to it, as registries with
// strong references require (distribution-spec#459, #505): the top
// manifest, which the caller tags last, is first written by digest.
// Afterwards the destination's referrers are read back (confirmReferrers).
// It returns how many signatures and referrers are at the destination.
func (c *Copier) copyArtifacts(ctx context.Context, j *job, res *ImageResult, top v1.Hash, putTop func() error) (int, error) {
	tags, err := c.sourceTags(ctx, j.srcRepo)
	if err != nil {
		c.warn(j, res, fmt.Sprintf("listing tags of %s to find cosign signatures: %v; signatures stored as tags are not copied", j.srcRepo, err))
	}
	n := 0
	topWritten := false
	subjectReady := func(d v1.Hash) error {
		if d != top || topWritten {
			return nil
		}
		topWritten = true
		return putTop()
	}
	for _, d := range j.copied {
		for _, suffix := range cosignSuffixes {
			t := strings.Replace(d.String(), ":", "-", 1) + suffix
			if !tags[t] {
				continue
			}
			if err := subjectReady(d); err != nil {
				return n, err
			}
			if err := c.copyArtifact(ctx, j, j.srcRepo.Tag(t), j.dstRepo.Tag(t)); err != nil {
				return n, err
			}
			n++
		}
		refs, _, err := c.referrers(ctx, j.src, d)
		if err != nil {
			return n, err
		}
		if len(refs) == 0 {
			continue
		}
		if err := subjectReady(d); err != nil {
			return n, err
		}
		for _, m := range refs {
			if err := c.copyArtifact(ctx, j, j.srcRepo.Digest(m.Digest.String()), j.dstRepo.Digest(m.Digest.String())); err != nil {
				return n, err
			}
			n++
		}
		w, err := c.confirmReferrers(ctx, j.dst, d, refs)
		if err != nil {
			return n, err
		}
		if w != "" {
			c.warn(j, res, w)
		}
	}
	return n, nil
}

func (c *Copier) warn(j *job, res *ImageResult, w string) {
	res.Warnings = append(res.Warnings, w)
	c.emit(Event{Kind: Warning, Source: j.pair.Source, Destination: j.pair.Destination, Message: w})
}

// copyArtifact copies one signature or referrer manifest and its blobs,
// skipping it when the destination has it.
func (c *Copier) copyArtifact(ctx context.Context, parent *job, src, dst name.Reference) error {
	j := &job{pair: parent.pair, src: parent.src, dst: parent.dst, srcRepo: parent.srcRepo, dstRepo: parent.dstRepo}
	desc, err := c.puller.Get(ctx, src)
	if err != nil {
		return j.src.wrap("reading "+src.String(), err)
	}
	if have, err := c.puller.Head(ctx, dst); err == nil && have.Digest == desc.Digest {
		return nil
	} else if err != nil && !absentOrHidden(err) {
		return j.dst.wrap("checking "+dst.String(), err)
	}
	top := &rawManifest{raw: desc.Manifest, mt: desc.MediaType}
	tree, err := c.fetchTree(ctx, j, desc.Digest, top)
	if err != nil {
		return err
	}
	if err := c.copyTree(ctx, j, tree, false); err != nil {
		return err
	}
	if err := c.pusher.Put(ctx, dst, *top); err != nil {
		return j.dst.wrapPut(dst, *top, err)
	}
	return nil
}

// sourceTags lists a source repository's tags once per run.
func (c *Copier) sourceTags(ctx context.Context, repo name.Repository) (map[string]bool, error) {
	c.tagsMu.Lock()
	tl, ok := c.tags[repo.String()]
	if !ok {
		tl = &tagList{}
		c.tags[repo.String()] = tl
	}
	c.tagsMu.Unlock()
	tl.once.Do(func() {
		var tags []string
		tags, tl.err = c.puller.List(ctx, repo)
		tl.tags = make(map[string]bool, len(tags))
		for _, t := range tags {
			tl.tags[t] = true
		}
	})
	return tl.tags, tl.err
}
