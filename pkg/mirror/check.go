package mirror

import (
	"bytes"
	"context"
	"fmt"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// inspection is what a copy learns before moving anything.
type inspection struct {
	j       *job
	res     ImageResult
	pullRef name.Reference
	dstRef  name.Reference
	want    v1.Hash
	top     *rawManifest   // set when already fetched (platform subset)
	have    *v1.Descriptor // nil when the destination does not exist
	// notice is what the destination pre-flight found that the copy's
	// push will confirm or not (an ECR repository that does not exist).
	notice string
}

// inspect resolves the source digest (the subset's, with WithPlatforms)
// and what the destination holds: one manifest request to each registry.
func (c *Copier) inspect(ctx context.Context, p Pair) (*inspection, error) {
	srcRef, err := c.parse(p.Source)
	if err != nil {
		return nil, err
	}
	dstRef, err := c.parse(p.Destination)
	if err != nil {
		return nil, err
	}
	pullRef, err := c.pullFrom(srcRef)
	if err != nil {
		return nil, err
	}
	in := &inspection{
		j: &job{
			pair:    p,
			src:     side{"source", pullRef.Context().RegistryStr(), pullRef.Context()},
			dst:     side{"destination", dstRef.Context().RegistryStr(), dstRef.Context()},
			srcRepo: pullRef.Context(),
			dstRepo: dstRef.Context(),
		},
		res:     ImageResult{Source: p.Source, Destination: p.Destination},
		pullRef: pullRef,
		dstRef:  dstRef,
	}
	j := in.j

	// One HEAD on the destination, sent alongside the source's.
	type head struct {
		desc *v1.Descriptor
		err  error
	}
	dstHead := make(chan head, 1)
	go func() {
		d, err := c.puller.Head(ctx, dstRef)
		dstHead <- head{d, err}
	}()

	// The source digest: free for a digest reference, one HEAD otherwise.
	if d, ok := pullRef.(name.Digest); ok {
		if in.want, err = v1.NewHash(d.DigestStr()); err != nil {
			return nil, err
		}
	} else {
		desc, err := c.puller.Head(ctx, pullRef)
		if err != nil {
			return nil, j.src.wrap("reading "+pullRef.String(), err)
		}
		in.want = desc.Digest
	}
	in.res.SourceDigest = in.want.String()

	// A platform subset is a new index: build it before comparing.
	if len(c.o.platforms) > 0 {
		desc, err := c.puller.Get(ctx, pullRef.Context().Digest(in.want.String()))
		if err != nil {
			return nil, j.src.wrap("reading "+pullRef.String(), err)
		}
		in.top = &rawManifest{raw: desc.Manifest, mt: desc.MediaType}
		if desc.MediaType.IsIndex() {
			raw, err := c.subset(desc.Manifest)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", pullRef, err)
			}
			in.top = &rawManifest{raw: raw, mt: desc.MediaType}
			h, _, err := v1.SHA256(bytes.NewReader(raw))
			if err != nil {
				return nil, err
			}
			if h != in.want {
				in.res.Warnings = append(in.res.Warnings, fmt.Sprintf(
					"copying platforms %s of %s: the destination index digest %s differs from the source's %s",
					platformList(c.o.platforms), p.Source, h, in.want))
			}
			in.want = h
		}
	}
	in.res.Digest = in.want.String()

	if d, ok := dstRef.(name.Digest); ok && d.DigestStr() != in.want.String() {
		return nil, fmt.Errorf("destination digest %s differs from the source's %s: give a tag, or the source's digest", d.DigestStr(), in.want)
	}
	h := <-dstHead
	switch {
	case h.err == nil:
		in.have = h.desc
	case !absentOrHidden(h.err):
		if unauthorized(h.err) {
			// A HEAD has no body: Harbor's "project … not found" comes
			// with a 401 too, and the pre-flight's GET shows it.
			if _, err := c.preflight(ctx, j.dst); err != nil {
				return nil, err
			}
		}
		return nil, j.dst.wrap("checking "+dstRef.String(), h.err)
	default:
		// Not there (or not shown): can the repository take it?
		if in.notice, err = c.preflight(ctx, j.dst); err != nil {
			return nil, err
		}
	}
	return in, nil
}

// Inspection is what the destination holds for one Pair.
type Inspection struct {
	Source      string `json:"source"`
	Destination string `json:"destination"`
	// Digest is what a copy would write: the source digest, or the
	// platform subset's.
	Digest       string `json:"digest,omitempty"`
	SourceDigest string `json:"sourceDigest,omitempty"`
	// DestinationDigest is empty when the destination does not exist.
	DestinationDigest string `json:"destinationDigest,omitempty"`
	// Warning is what the destination's pre-flight found that a copy
	// will confirm or not, such as an ECR repository that does not exist.
	Warning string `json:"warning,omitempty"`
	Err     error  `json:"-"`
}

// Present reports whether the destination already has the digest.
func (i Inspection) Present() bool {
	return i.Err == nil && i.Digest != "" && i.DestinationDigest == i.Digest
}

// Check looks at every pair without copying: one manifest request to each
// registry per image (plus one handshake per registry). The plan uses it
// to tell ok, missing and drift apart.
func (c *Copier) Check(ctx context.Context, pairs []Pair) []Inspection {
	out := make([]Inspection, len(pairs))
	sem := make(chan struct{}, checkFactor*c.o.concurrency)
	var wg sync.WaitGroup
	for i, p := range pairs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = Inspection{Source: p.Source, Destination: p.Destination}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				out[i].Err = ctx.Err()
				return
			}
			defer func() { <-sem }()
			in, err := c.inspect(ctx, p)
			if err != nil {
				c.explain(err)
				out[i].Err = fmt.Errorf("checking %q against %q: %w", p.Source, p.Destination, err)
				return
			}
			out[i].Digest, out[i].SourceDigest = in.res.Digest, in.res.SourceDigest
			out[i].Warning = in.notice
			if in.have != nil {
				out[i].DestinationDigest = in.have.Digest.String()
			}
		}()
	}
	wg.Wait()
	return out
}
