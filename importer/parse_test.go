package importer

import (
	"reflect"
	"testing"

	"github.com/sendtrail/sendtrail/domain"
)

type L = domain.Lead

func TestParseLeads(t *testing.T) {
	tests := []struct {
		raw  string
		want []L
	}{
		// A role after "/" is the previous lead's role.
		{"Sharon Muldoon/ Interim Education and Skills Director", []L{{Name: "Sharon Muldoon", Role: "Interim Education and Skills Director"}}},
		// Name – role - organisation / name – role.
		{"Sharon Muldoon – Interim Director of Education and Skills - BCP Council/Sam Best – Principal Lead, Strategic Commissioning (NHSD)", []L{
			{Name: "Sharon Muldoon", Role: "Interim Director of Education and Skills", Organisation: "BCP Council"},
			{Name: "Sam Best", Role: "Principal Lead, Strategic Commissioning (NHSD)"}}},
		// Runs of spaces separate leads; a body is a lead of its own.
		{"Sharon Muldoon, Interim Education Director  Sam Best – Principal Lead, Strategic Commissioning (NHSD)  Education Setting Representative", []L{
			{Name: "Sharon Muldoon", Role: "Interim Education Director"},
			{Name: "Sam Best", Role: "Principal Lead, Strategic Commissioning (NHSD)"},
			{Name: "Education Setting Representative"}}},
		// No separator between two people.
		{"Sharon Muldoon - Interim Education and Skills Director Mark Harris - Deputy Director of BCP Place – NHS Dorset", []L{
			{Name: "Sharon Muldoon", Role: "Interim Education and Skills Director"},
			{Name: "Mark Harris", Role: "Deputy Director of BCP Place", Organisation: "NHS Dorset"}}},
		{"Sharon Muldoon/ - Interim Education and Skills Director Julia Coleman – Head of EI/Chris Lee – Interim Head of School Inclusion", []L{
			{Name: "Sharon Muldoon", Role: "Interim Education and Skills Director"},
			{Name: "Julia Coleman", Role: "Head of EI"},
			{Name: "Chris Lee", Role: "Interim Head of School Inclusion"}}},
		{"Julia Coleman – Head of EIT will work with Chris Lee Interim Head of School Inclusion and Sarah Langdale Head of Strategic Commissioning", []L{
			{Name: "Julia Coleman", Role: "Head of EIT"},
			{Name: "Chris Lee", Role: "Interim Head of School Inclusion"},
			{Name: "Sarah Langdale", Role: "Head of Strategic Commissioning"}}},
		// Line breaks; organisation after a comma.
		{"Elaine Hurl – Head of CYP, MH, Autism and LD, NHS Dorset\nSuzanne Green", []L{
			{Name: "Elaine Hurl", Role: "Head of CYP, MH, Autism and LD", Organisation: "NHS Dorset"},
			{Name: "Suzanne Green"}}},
		{"Jo Ames – Programme Lead – NHSD", []L{{Name: "Jo Ames", Role: "Programme Lead", Organisation: "NHSD"}}},
		{"Sharon Muldoon – Interim Director – Education and Skills", []L{{Name: "Sharon Muldoon", Role: "Interim Director – Education and Skills"}}},
		{"Rina Mistry/Performance Team - Health", []L{{Name: "Rina Mistry", Role: "Performance Team - Health"}}},
		{"Kevin Gillings (ASC Commissioning)", []L{{Name: "Kevin Gillings", Role: "ASC Commissioning"}}},
		{"Tia Sohi SLIP partner", []L{{Name: "Tia Sohi", Role: "SLIP partner"}}},
		{"Bedford SLIP/Jude Nash – SEND Service Manager", []L{{Name: "Bedford SLIP"}, {Name: "Jude Nash", Role: "SEND Service Manager"}}},
		{"Julia Coleman Head of EI/ Health/ Schools (Link to MH Transformation)", []L{
			{Name: "Julia Coleman", Role: "Head of EI"}, {Name: "Health"}, {Name: "Schools (Link to MH Transformation)"}}},
		{"Aleksandra Zabielska/ - CHAD Service Manager Mary Diffey – SEND Service Manager", []L{
			{Name: "Aleksandra Zabielska", Role: "CHAD Service Manager"}, {Name: "Mary Diffey", Role: "SEND Service Manager"}}},
		{"Siobhan O'Neil – Head of SEND/Ian McDonald-Smith", []L{{Name: "Siobhan O'Neil", Role: "Head of SEND"}, {Name: "Ian McDonald-Smith"}}},
		{"the SEND team", []L{{Name: "the SEND team"}}},
		{" / - / ", nil},
	}
	for _, tc := range tests {
		if got := parseLeads(tc.raw); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parseLeads(%q) =\n%+v\nwant\n%+v", tc.raw, got, tc.want)
		}
	}
}

func TestParseDeadline(t *testing.T) {
	d := func(s string) domain.Date {
		x, err := domain.ParseDate(s)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	tests := []struct {
		cell     string
		deadline string
		raw      string
		ms       []domain.Milestone
		issues   []string
	}{
		{"", "", "", nil, nil},
		{"30/01/24", "2024-01-30", "", nil, nil},
		{"30/4/24", "2024-04-30", "", nil, nil},
		{"1/5/2024", "2024-05-01", "", nil, nil},
		{"29/02/24", "2024-02-29", "", nil, nil},
		{"2024-04-30", "2024-04-30", "", nil, nil},
		{"31/04/24", "", "31/04/24", nil, []string{"31/04/24 is not a date: April has 30 days"}},
		{"29/02/23", "", "29/02/23", nil, []string{"29/02/23 is not a date: February has 28 days"}},
		{"0/1/24", "", "0/1/24", nil, []string{"0/1/24 is not a date: there is no day 0"}},
		{"1/1/124", "", "1/1/124", nil, []string{"1/1/124 is not a date: want dd/mm/yy or dd/mm/yyyy"}},
		{"30/06/24\n31/12/24", "2024-12-31", "30/06/24\n31/12/24", []domain.Milestone{{Date: d("2024-06-30")}, {Date: d("2024-12-31")}}, nil},
		{"31/12/24 last\n\n 30/06/24 - first ", "2024-12-31", "31/12/24 last\n\n 30/06/24 - first ", []domain.Milestone{{Date: d("2024-12-31"), Text: "last"}, {Date: d("2024-06-30"), Text: "first"}}, nil},
		{"next meeting by 31/03/24", "2024-03-31", "next meeting by 31/03/24", []domain.Milestone{{Date: d("2024-03-31"), Text: "next meeting by 31/03/24"}}, nil},
		{"30/04/24 a\nthen b", "2024-04-30", "30/04/24 a\nthen b", []domain.Milestone{{Date: d("2024-04-30"), Text: "a"}, {Text: "then b"}}, nil},
		{"30/04/24 a\n31/06/24 b", "", "30/04/24 a\n31/06/24 b", []domain.Milestone{{Date: d("2024-04-30"), Text: "a"}, {Text: "31/06/24 b"}},
			[]string{"31/06/24 is not a date: June has 30 days"}},
		{"by Dec 2023", "", "by Dec 2023", []domain.Milestone{{Text: "by Dec 2023"}},
			[]string{`no date in "by Dec 2023": want dd/mm/yy, or one milestone per line starting with its date`}},
	}
	for _, tc := range tests {
		got := parseDeadline(tc.cell)
		if got.date.String() != tc.deadline || got.raw != tc.raw || !reflect.DeepEqual(got.milestones, tc.ms) || !reflect.DeepEqual(got.issues, tc.issues) {
			t.Errorf("parseDeadline(%q) = %q raw %q ms %+v issues %q; want %q %q %+v %q",
				tc.cell, got.date, got.raw, got.milestones, got.issues, tc.deadline, tc.raw, tc.ms, tc.issues)
		}
	}
}

func TestParseRag(t *testing.T) {
	tests := []struct {
		cell, rag, trend string
		issue            bool
	}{
		{"", "", "", false},
		{"NS", "NS", "", false},
		{"ns", "NS", "", false},
		{"a", "A", "", false},
		{"↑", "", "↑", false},
		{"↓", "", "↓", false},
		{"↔", "", "↔", false},
		{"▲", "", "▲", false},
		{"▼", "", "▼", false},
		{"P ↑", "P", "↑", false},
		{"Amber", "", "", true},
		{"R A", "", "", true},
		{"↑↑", "", "", true},
	}
	for _, tc := range tests {
		rag, trend, issue := parseRag(tc.cell)
		if rag != tc.rag || trend != tc.trend || (issue != "") != tc.issue {
			t.Errorf("parseRag(%q) = %q %q %q", tc.cell, rag, trend, issue)
		}
	}
}
