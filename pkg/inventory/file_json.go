package inventory

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/imagemap"
)

// IsInventoryJSON reports whether an images file is the output of
// `images -o json` rather than one reference per line: a reference never
// starts with '['.
func IsInventoryJSON(data []byte) bool {
	t := bytes.TrimLeft(data, " \t\r\n\ufeff")
	return len(t) > 0 && t[0] == '['
}

// ReadInventoryJSON reads the output of `images -o json` taken elsewhere
// (inside an air gap, carried out): each image keeps the reasons it was
// needed there. An image that is already a map destination stands for
// the source it mirrors. The first bad entry is an error naming name and
// the entry.
func ReadInventoryJSON(data []byte, name string) ([]Item, error) {
	var items []Item
	if err := json.Unmarshal(data, &items); err != nil {
		return nil, fmt.Errorf("images file %q: not the JSON list images -o json prints: %s", name, reasonOf(err))
	}
	out := make([]Item, 0, len(items))
	for i, it := range items {
		img := it.Image
		if it.MappedFrom != "" {
			img = it.MappedFrom
		}
		if _, err := imagemap.ParseReference(img); err != nil {
			return nil, fmt.Errorf("images file %q: entry %d: %w", name, i, err)
		}
		why := make([]string, 0, len(it.Why))
		for _, w := range it.Why {
			why = append(why, printable(w))
		}
		if len(why) == 0 {
			why = append(why, fmt.Sprintf("file:%s:entry %d", name, i))
		}
		out = append(out, Item{Image: img, Why: why})
	}
	return out, nil
}
