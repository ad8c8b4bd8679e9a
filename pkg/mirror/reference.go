package mirror

import (
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// parse reads a reference, marking hosts given to WithInsecure as plain
// HTTP.
func (c *Copier) parse(s string) (name.Reference, error) {
	ref, err := name.ParseReference(s)
	if err != nil {
		return nil, fmt.Errorf("parsing image reference %q: %w", s, err)
	}
	if c.o.insecure[ref.Context().RegistryStr()] {
		return name.ParseReference(s, name.Insecure)
	}
	return ref, nil
}

// pullFrom is where the source is read: its registry's mirror, when one is
// configured.
func (c *Copier) pullFrom(ref name.Reference) (name.Reference, error) {
	m, ok := c.o.mirrors[ref.Context().RegistryStr()]
	if !ok {
		return ref, nil
	}
	var opts []name.Option
	if c.o.insecure[m] {
		opts = append(opts, name.Insecure)
	}
	s := m + "/" + ref.Context().RepositoryStr()
	if d, ok := ref.(name.Digest); ok {
		s += "@" + d.DigestStr()
	} else {
		s += ":" + ref.Identifier()
	}
	return name.ParseReference(s, opts...)
}

// SourceRemote is how this copier reads a source: the reference to fetch
// (its registry's mirror, when one is configured; plain HTTP where asked)
// and the remote options (credentials, CA, retries). The signature gate
// reads signatures through it, so it sees what the copy sees.
func (c *Copier) SourceRemote(source string) (name.Reference, []remote.Option, error) {
	ref, err := c.parse(source)
	if err != nil {
		return nil, nil, err
	}
	pull, err := c.pullFrom(ref)
	if err != nil {
		return nil, nil, err
	}
	return pull, []remote.Option{remote.WithAuthFromKeychain(c.o.keychain), remote.WithTransport(c.puller.rt)}, nil
}
