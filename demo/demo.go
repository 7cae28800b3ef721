// Package demo embeds the BCP SEND Improvement Plan 2023/26, as its council
// published it, so that `sendtrail demo` and the tests need nothing beside
// the repository.
package demo

import (
	"embed"
	"io/fs"
	"time"
)

//go:embed bcp-2023-26/*.csv
var files embed.FS

// Slug is the demo plan's slug.
const Slug = "bcp-2023-26"

// Title is the demo plan's title.
const Title = "BCP SEND Improvement Plan 2023/26"

// Published is when the plan was published as it is here (version 1.2,
// "Date printed: 12 April 2024"): the business time of its import.
var Published = time.Date(2024, 4, 12, 9, 0, 0, 0, time.UTC)

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
