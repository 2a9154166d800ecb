# OPA asks refgraph for a verdict with http.send; the answer is read from stored results, so it
# is fast enough for admission. Set REFGRAPH_URL and REFGRAPH_TOKEN in OPA's environment.
#
# Fails closed: an error, a timeout, a non-200 answer or an image without an answer is denied.
package refgraph

import rego.v1

images := [c.image |
	some field in ["containers", "initContainers", "ephemeralContainers"]
	some c in object.get(input.request.object.spec, field, [])
]

response := http.send({
	"method": "POST",
	"url": concat("", [opa.runtime().env.REFGRAPH_URL, "/api/v1/verdict"]),
	"headers": {
		"content-type": "application/json",
		"authorization": concat(" ", ["Bearer", opa.runtime().env.REFGRAPH_TOKEN]),
	},
	"body": {"policy": "production", "subjects": images, "references": "image"},
	"timeout": "3s",
	"raise_error": false,
}) if count(images) > 0

deny contains msg if {
	count(images) > 0
	response.status_code != 200
	msg := sprintf("refgraph gave no verdict (status %v): images are denied", [response.status_code])
}

deny contains msg if {
	response.status_code == 200
	some i, image in images
	not response.body.subjects[i].allowed == true
	msg := sprintf("%s denied by refgraph: %s", [image, concat("; ", object.get(object.get(response.body.subjects, i, {}), "reasons", ["no answer"]))])
}
