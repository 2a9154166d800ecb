# OPA asks refgraph for a verdict with http.send; the answer is read from stored results, so it
# is fast enough for admission. Set REFGRAPH_URL and REFGRAPH_TOKEN in OPA's environment.
package refgraph

import rego.v1

verdict(images) := http.send({
	"method": "POST",
	"url": concat("", [opa.runtime().env.REFGRAPH_URL, "/api/v1/verdict"]),
	"headers": {
		"content-type": "application/json",
		"authorization": concat(" ", ["Bearer", opa.runtime().env.REFGRAPH_TOKEN]),
	},
	"body": {"policy": "production", "subjects": images},
	"timeout": "3s",
	"raise_error": false,
}).body

deny contains msg if {
	images := [c.image | some c in input.request.object.spec.containers]
	v := verdict(images)
	some s in v.subjects
	not s.allowed
	msg := sprintf("%s denied by refgraph: %s", [s.reference, concat("; ", s.reasons)])
}
