// Package demo embeds the BCP SEND Improvement Plan 2023/26, as its council
// published it, so that `sendtrail demo` and the tests need nothing beside
// the repository.
package demo

import (
	"embed"
	"io/fs"
)

//go:embed bcp-2023-26/*.csv
var files embed.FS

// Slug is the demo plan's slug.
const Slug = "bcp-2023-26"

// Title is the demo plan's title.
const Title = "BCP SEND Improvement Plan 2023/26"

// Files returns the demo plan's CSV files by name.
func Files() (map[string][]byte, error) {
	out := map[string][]byte{}
	entries, err := fs.ReadDir(files, "bcp-2023-26")
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		b, err := fs.ReadFile(files, "bcp-2023-26/"+e.Name())
		if err != nil {
			return nil, err
		}
		out[e.Name()] = b
	}
	return out, nil
}
