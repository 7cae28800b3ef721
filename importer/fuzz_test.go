package importer

import (
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"github.com/sendtrail/sendtrail/domain"
)

// FuzzReadFiles feeds arbitrary bytes as actions.csv: nothing panics, every
// problem is located in a file, and every action the importer returns is one
// the domain accepts.
func FuzzReadFiles(f *testing.F) {
	if data, err := os.ReadFile(filepath.Join(bcpDir, "actions.csv")); err == nil {
		f.Add(data)
	}
	f.Add([]byte(actionsHeader + actionRow("1.1") + actionRow("1.2", "Deadline", "30/04/24 a\n31/04/24 b", "RAG", "↑", "Lead", "A B/ Director  C D – E – NHS X")))
	f.Add([]byte(actionsHeader + "1. L,1.1,\"unterminated\r\n"))
	f.Add([]byte("\xef\xbb\xbf" + actionsHeader + "\xff\xfe,\"\"\"\r\n\r\n,,,,,,,,,,,,\n"))
	f.Add([]byte(""))
	f.Add([]byte("Ref\n1.1"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ReadFiles(map[string][]byte{"priorities.csv": []byte(prioCSV), "actions.csv": data}, Options{Slug: "fuzz", Title: "Fuzz"})
		if err != nil {
			t.Fatalf("ReadFiles: %v (only content problems are possible here)", err)
		}
		for _, pr := range p.Problems {
			if pr.File != "actions.csv" || pr.Message == "" || !utf8.ValidString(pr.String()) || !utf8.ValidString(pr.Value) {
				t.Fatalf("problem %#v", pr)
			}
		}
		if len(p.Problems) == 0 && p.Err(Options{}) != nil {
			t.Fatal("Err without problems")
		}
		if len(p.Actions) > MaxActions {
			t.Fatalf("%d actions", len(p.Actions))
		}
		for _, a := range p.Actions {
			if _, err := domain.Decide(domain.ActionState{}, a); err != nil {
				t.Fatalf("the domain refuses action %q: %v", a.Ref, err)
			}
			for _, l := range a.Leads {
				if _, err := domain.NewLead(l.Name, l.Role, l.Organisation); err != nil {
					t.Fatalf("lead %#v: %v", l, err)
				}
			}
		}
	})
}
