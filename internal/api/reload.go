package api

import (
	"net/http"
)

// Reloader is the part of tonewall that re-reads its configuration file
// and puts what can change live in force (app.App); POST /v1/reload calls
// it, for role admin, as SIGHUP does.
type Reloader interface {
	// Reload names who asked (a key's name) and from where (an IP
	// address), for the audit log. It returns the hex SHA-256 of the file
	// applied and the keys that changed, or why the file was refused.
	Reload(actor, source string) (sum string, changed []string, err error)
}

// reloadHandler answers 200 with what changed, or 409 with why the new
// configuration was refused (the old one stays in force).
func reloadHandler(r Reloader) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		sum, changed, err := r.Reload(PrincipalOf(req.Context()).Name, clientIP(req))
		if err != nil {
			writeProblem(w, http.StatusConflict, "reload_refused", err.Error())
			return
		}
		if changed == nil {
			changed = []string{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"status": "reloaded", "sha256": sum, "changed": changed})
	}
}
