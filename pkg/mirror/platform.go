package mirror

import (
	"encoding/json"
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func platformList(ps []v1.Platform) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

// subset keeps the index children matching a requested platform, and
// nothing else: attestation manifests without a platform go too.
func (c *Copier) subset(raw []byte) ([]byte, error) {
	var idx map[string]json.RawMessage
	if err := json.Unmarshal(raw, &idx); err != nil {
		return nil, fmt.Errorf("parsing index: %w", err)
	}
	var children []v1.Descriptor
	if err := json.Unmarshal(idx["manifests"], &children); err != nil {
		return nil, fmt.Errorf("parsing index manifests: %w", err)
	}
	var kept []v1.Descriptor
	for _, d := range children {
		if d.Platform == nil {
			continue
		}
		for _, want := range c.o.platforms {
			if d.Platform.Satisfies(want) {
				kept = append(kept, d)
				break
			}
		}
	}
	if len(kept) == 0 {
		return nil, fmt.Errorf("no manifest for platforms %s in the index", platformList(c.o.platforms))
	}
	b, err := json.Marshal(kept)
	if err != nil {
		return nil, err
	}
	idx["manifests"] = b
	return json.Marshal(idx)
}
