package api

import (
	"fmt"
	"strings"

	"github.com/sendtrail/sendtrail/domain"
	"github.com/sendtrail/sendtrail/gen/sendtrail/v1/sendtrailv1connect"
)

// Permission is something a role may do on a plan.
type Permission string

// The permissions.
const (
	PermRead         Permission = "plan.read"         // queries
	PermEdit         Permission = "plan.edit"         // every change to actions and indicators
	PermUpdateOwn    Permission = "action.update_own" // RAG, progress and impact of the actions one leads
	PermImport       Permission = "plan.import"       // create a plan from files
	PermManageTokens Permission = "tokens.manage"     // issue, list and revoke tokens
	PermExport       Permission = "evidence.export"   // evidence bundles
	PermSubscribe    Permission = "events.subscribe"  // event streams and webhooks
	// PermManageWebhooks: register, list, pause, resume, replay and remove
	// webhooks, and read their delivery logs.
	PermManageWebhooks Permission = "webhooks.manage"
)

// rolePermissions is least privilege by role (DESIGN.md, Access).
var rolePermissions = map[domain.Role][]Permission{
	domain.RoleAdmin:     {PermRead, PermEdit, PermImport, PermManageTokens, PermExport, PermSubscribe, PermManageWebhooks},
	domain.RoleEditor:    {PermRead, PermEdit, PermExport},
	domain.RoleLead:      {PermRead, PermUpdateOwn},
	domain.RoleViewer:    {PermRead},
	domain.RoleInspector: {PermRead, PermExport},
	domain.RoleService:   {PermRead, PermSubscribe},
}

// Has reports whether role grants perm.
func Has(role domain.Role, perm Permission) bool {
	for _, p := range rolePermissions[role] {
		if p == perm {
			return true
		}
	}
	return false
}

// rule is what a procedure requires. OwnAction names a permission that is
// enough when the caller leads the action the request names.
type rule struct {
	Need      Permission
	OwnAction Permission
}

// rules holds a rule for every procedure served; each service adds its own
// with registerService. The interceptor refuses a procedure without one, so
// a new RPC cannot be served unguarded.
var rules = map[string]rule{}

// Rules returns a copy of every procedure's required permission, for the
// authorization matrix test and documentation.
func Rules() map[string]Permission {
	out := make(map[string]Permission, len(rules))
	for p, r := range rules {
		out[p] = r.Need
	}
	return out
}

// RuleOf returns what procedure requires: need, and ownAction, a
// permission that is enough for an action the caller leads ("" when there
// is none). ok is false for a procedure with no rule, which is refused.
func RuleOf(procedure string) (need, ownAction Permission, ok bool) {
	r, ok := rules[procedure]
	return r.Need, r.OwnAction, ok
}

// RolePermissions returns the permissions role grants.
func RolePermissions(role domain.Role) []Permission {
	return append([]Permission(nil), rolePermissions[role]...)
}

var planRules = map[string]rule{
	sendtrailv1connect.PlanServiceImportPlanProcedure:       {Need: PermImport},
	sendtrailv1connect.PlanServiceAddActionProcedure:        {Need: PermEdit},
	sendtrailv1connect.PlanServiceChangeRagProcedure:        {Need: PermEdit, OwnAction: PermUpdateOwn},
	sendtrailv1connect.PlanServiceMoveDeadlineProcedure:     {Need: PermEdit},
	sendtrailv1connect.PlanServiceReassignLeadsProcedure:    {Need: PermEdit},
	sendtrailv1connect.PlanServiceRecordProgressProcedure:   {Need: PermEdit, OwnAction: PermUpdateOwn},
	sendtrailv1connect.PlanServiceRecordImpactProcedure:     {Need: PermEdit, OwnAction: PermUpdateOwn},
	sendtrailv1connect.PlanServiceWithdrawActionProcedure:   {Need: PermEdit},
	sendtrailv1connect.PlanServiceReinstateActionProcedure:  {Need: PermEdit},
	sendtrailv1connect.PlanServiceRecordKpiValueProcedure:   {Need: PermEdit},
	sendtrailv1connect.PlanServiceCorrectKpiValueProcedure:  {Need: PermEdit},
	sendtrailv1connect.PlanServiceGetPlanProcedure:          {Need: PermRead},
	sendtrailv1connect.PlanServiceListActionsProcedure:      {Need: PermRead},
	sendtrailv1connect.PlanServiceGetActionProcedure:        {Need: PermRead},
	sendtrailv1connect.PlanServiceGetActionHistoryProcedure: {Need: PermRead},
	sendtrailv1connect.PlanServiceListEventsProcedure:       {Need: PermRead},
	sendtrailv1connect.PlanServiceListKpisProcedure:         {Need: PermRead},
}

// access is the outcome of authorization, kept in the request's context.
type access struct {
	// ownOnly: allowed only for actions the caller leads; the handler checks.
	ownOnly bool
}

// authorize decides whether p may call procedure on plan.
func authorize(p Principal, procedure, plan string) (access, error) {
	r, ok := rules[procedure]
	if !ok {
		return access{}, &domain.Error{Code: domain.EFORBIDDEN, Message: fmt.Sprintf("%s has no access rule", procedure)}
	}
	if p.Plan != "*" && p.Plan != plan {
		return access{}, &domain.Error{Code: domain.EFORBIDDEN, Field: "plan",
			Message: fmt.Sprintf("your token is for plan %s, not %s (missing permission %s on %s)", p.Plan, plan, r.Need, plan)}
	}
	if Has(p.Role, r.Need) {
		return access{}, nil
	}
	if r.OwnAction != "" && Has(p.Role, r.OwnAction) {
		return access{ownOnly: true}, nil
	}
	return access{}, &domain.Error{Code: domain.EFORBIDDEN,
		Message: fmt.Sprintf("missing permission %s: the %s role cannot do this", r.Need, p.Role)}
}

// ledBy names an action's current leads for a refusal: the names, or the
// lead cell as written when none could be read from it.
func ledBy(a domain.ActionState) string {
	names := make([]string, 0, len(a.Leads()))
	for _, l := range a.Leads() {
		names = append(names, l.Name)
	}
	if len(names) == 0 {
		return a.LeadsRaw()
	}
	return strings.Join(names, "; ")
}
