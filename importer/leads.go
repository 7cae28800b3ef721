package importer

import (
	"regexp"
	"strings"
	"unicode"

	"github.com/sendtrail/sendtrail/domain"
)

// Leads are parsed best effort; LeadsRaw keeps the cell as written.
//
// A cell names one or more people, separated by "/", line breaks or runs of
// two or more spaces; each person is "Name – Role – Organisation" with an en
// dash or a hyphen between spaces, or "Name Role" with no separator at all
// ("Mary Diffey SEND Service Manager"). Person names are found as two or
// three capitalised words that are not role or organisation words. A piece
// with no person name (a team, a body such as "Bedford SLIP", or a role
// written after a "/") is the previous lead's role when that lead has none
// and the piece reads as a role; otherwise it is a lead of its own.

var (
	partSepRE  = regexp.MustCompile(`\s*[/\n]\s*|\s{2,}`)
	dashSepRE  = regexp.MustCompile(`\s+[–—-]\s+`)
	nameWordRE = regexp.MustCompile(`^[A-Z][a-z]*(?:['’]?[A-Z][a-z]+)*(?:-[A-Z][a-z]*(?:['’]?[A-Z][a-z]+)*)*$`)
)

// notNameWords are capitalised words of roles, teams and organisations: they
// never start or continue a person's name.
var notNameWords = wordSet(`
	Acting Adult Adults Advisor Adviser Analyst Analytics Area Assistant Associate Authority Autism
	Bedford Board Bournemouth Business Care Carer Carers Careers Careers' Centre Chief Children Childrens Children's
	Christchurch Clinical Clinician College Commissioner Commissioning Communications Community Consultant
	Co-ordinator Coordinator Council Data Delivery Department Deputy Designated Development Director Directorate
	Dorset Early Education Engagement Executive Families Family Finance Forum Governance Group Head Health Help
	Hub Improvement Inclusion Integrated Interim Lead Lead's Learning Link Local Manager Managers Manger
	Medical Mental Needs Nurse Officer Operational Operations Parent Participation Partner Partnership
	Performance Place Planning Policy Poole Practice Principal Programme Project Provision Public Quality
	Representative Safeguarding School Schools Senior Service Services Setting Skills Social Special
	Specialist Strategic Strategy Support Sufficiency Team Therapist Therapy Transformation Transport Trust
	Unit Virtual Workforce Years Youth Management Leadership Office Administrator Administration
	Psychologist Psychology Educational Hospital University Academy Foundation Charity Voluntary Sector
	Panel Committee Governor Governors Headteacher Headteachers Teacher Teachers Operational
`)

// isNameWord reports whether w can be a word of a person's name: capitalised
// ("Diffey", "O'Neil", "McDonald", "Smith-Jones"), not all capitals, and not
// a role or organisation word.
func isNameWord(w string) bool {
	return nameWordRE.MatchString(w) && strings.IndexFunc(w, unicode.IsLower) >= 0 && !notNameWords[w]
}

// roleWords make a piece read as a role (lower case).
var roleWords = wordSet(`
	director manager manger head lead officer team partner representative commissioner coordinator
	co-ordinator analyst dco chief principal deputy assistant advisor adviser consultant specialist
	clinician nurse therapist interim
`)

// trailingJoins are words left at the end of a role by a sentence that goes
// on to name another person ("Head of EIT will work with Chris Lee …").
var trailingJoins = wordSet(`and with will work plus &`)

func wordSet(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}

// leadPiece is a stretch of a cell: a person's name and the text after it,
// or text with no person name.
type leadPiece struct {
	name string
	rest string
}

func parseLeads(raw string) []domain.Lead {
	var leads []domain.Lead
	for _, part := range partSepRE.Split(raw, -1) {
		for _, p := range splitPersons(part) {
			if p.name != "" {
				role, org := roleOrg(cleanRole(p.rest))
				leads = append(leads, domain.Lead{Name: p.name, Role: role, Organisation: org})
				continue
			}
			text := strings.Trim(p.rest, " \t,;:–—-")
			if text == "" {
				continue
			}
			if n := len(leads); n > 0 && leads[n-1].Role == "" && leads[n-1].Organisation == "" && readsAsRole(text) {
				leads[n-1].Role, leads[n-1].Organisation = roleOrg(text)
				continue
			}
			// A body or team that leads: its name as written.
			leads = append(leads, domain.Lead{Name: text})
		}
	}
	return leads
}

// splitPersons splits one part of a cell at each person name it holds.
func splitPersons(part string) []leadPiece {
	part = strings.TrimSpace(part)
	type span struct{ start, end int }
	var words []span
	inWord := false
	for i, r := range part {
		if unicode.IsSpace(r) {
			if inWord {
				words[len(words)-1].end = i
				inWord = false
			}
			continue
		}
		if !inWord {
			words = append(words, span{start: i, end: len(part)})
			inWord = true
		}
	}
	// Find runs of name words; a word with trailing punctuation ends a run.
	var names []span
	for i := 0; i < len(words); {
		j := i
		for j < len(words) && j-i < 3 {
			w := part[words[j].start:words[j].end]
			core := strings.TrimRight(w, ",;:")
			if !isNameWord(core) {
				break
			}
			j++
			if core != w {
				break
			}
		}
		if j-i >= 2 {
			names = append(names, span{words[i].start, words[j-1].end})
			i = j
			continue
		}
		i++
	}
	var pieces []leadPiece
	pos := 0
	for k, n := range names {
		if pre := part[pos:n.start]; k == 0 && strings.TrimSpace(pre) != "" {
			pieces = append(pieces, leadPiece{rest: pre})
		}
		end := len(part)
		if k+1 < len(names) {
			end = names[k+1].start
		}
		name := strings.TrimRight(part[n.start:n.end], ",;:")
		pieces = append(pieces, leadPiece{name: name, rest: part[n.end:end]})
		pos = end
	}
	if len(names) == 0 && strings.TrimSpace(part) != "" {
		pieces = append(pieces, leadPiece{rest: part})
	}
	return pieces
}

// cleanRole trims separators before a role and joining words after it.
func cleanRole(s string) string {
	s = strings.Trim(s, " \t,;:–—-")
	for {
		i := strings.LastIndexAny(s, " \t")
		if i < 0 || !trailingJoins[strings.ToLower(s[i+1:])] {
			break
		}
		s = strings.TrimRight(s[:i], " \t,;:–—-")
	}
	if strings.HasPrefix(s, "(") && strings.HasSuffix(s, ")") && strings.Count(s, "(") == 1 {
		s = strings.TrimSpace(s[1 : len(s)-1])
	}
	return s
}

var orgRE = regexp.MustCompile(`^(NHS\b.*|.*\b(Council|Trust|ICB)|\(?NHSD\)?)$`)

// roleOrg splits "Role – Organisation": the organisation is the last part
// after a dash (or, with no dash, after the last comma) when it reads as an
// organisation (NHS …, … Council, … Trust, NHSD); otherwise it is all role.
func roleOrg(s string) (role, org string) {
	if s == "" {
		return "", ""
	}
	if locs := dashSepRE.FindAllStringIndex(s, -1); len(locs) > 0 {
		last := locs[len(locs)-1]
		if tail := strings.TrimSpace(s[last[1]:]); orgRE.MatchString(tail) {
			return strings.TrimSpace(s[:last[0]]), tail
		}
		return s, ""
	}
	if orgRE.MatchString(s) {
		return "", s
	}
	if i := strings.LastIndex(s, ","); i >= 0 {
		if tail := strings.TrimSpace(s[i+1:]); orgRE.MatchString(tail) {
			return strings.TrimSpace(s[:i]), tail
		}
	}
	return s, ""
}

func readsAsRole(s string) bool {
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && r != '-'
	}) {
		if roleWords[w] {
			return true
		}
	}
	return false
}
