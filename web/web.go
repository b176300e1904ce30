// Package web holds the browser-facing assets served by the binary. The
// operator console is a placeholder until its capability lands; it is here
// so the URL the demo prints works from the start.
package web

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed console
var assets embed.FS

// Console serves the console's files under /console/.
func Console() http.Handler {
	sub, err := fs.Sub(assets, "console")
	if err != nil {
		panic(err) // the embed pattern guarantees the directory
	}
	return http.StripPrefix("/console/", http.FileServerFS(sub))
}
