package graphapi

import (
	"bytes"
	"encoding/json"
	"net/http"

	"strings"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/web"
)

// maxBatch is Graph's limit of requests in one $batch.
const maxBatch = 20

type batchRequest struct {
	ID        string            `json:"id"`
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers"`
	Body      json.RawMessage   `json:"body"`
	DependsOn []string          `json:"dependsOn"`
}

type batchResponse struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
}

// batch serves POST /$batch. Requests run in order (Graph may run
// independent ones in parallel; running them in order is a valid schedule
// and keeps the store's single-writer discipline). A request whose
// dependency did not succeed gets 424 Failed Dependency, as in Graph. Each
// sub-request is authenticated and authorized on its own, with the outer
// request's Authorization header unless it carries its own.
func (s *Server) batch(w http.ResponseWriter, r *http.Request, version string) error {
	if r.Method != http.MethodPost {
		return errs.E(errs.Invalid, "The HTTP method '%s' is not allowed for $batch.", r.Method).WithCode("BadRequest")
	}
	var in struct {
		Requests []batchRequest `json:"requests"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		if web.IsBodyTooLarge(err) {
			return err
		}
		return errs.E(errs.Invalid, "Invalid batch payload format.").WithCode("BadRequest")
	}
	if len(in.Requests) == 0 || len(in.Requests) > maxBatch {
		return errs.E(errs.Invalid, "Number of batch subrequests must be between 1 and %d.", maxBatch).WithCode("BadRequest")
	}
	seen := map[string]bool{}
	for _, br := range in.Requests {
		if br.ID == "" || seen[br.ID] {
			return errs.E(errs.Invalid, "Each batch subrequest needs a unique id.").WithCode("BadRequest")
		}
		for _, d := range br.DependsOn {
			if !seen[d] {
				return errs.E(errs.Invalid, "Request '%s' depends on '%s', which must appear before it.", br.ID, d).WithCode("BadRequest")
			}
		}
		seen[br.ID] = true
	}
	ok := map[string]bool{}
	out := make([]batchResponse, 0, len(in.Requests))
	for _, br := range in.Requests {
		resp := s.runBatchItem(r, version, br, ok)
		ok[br.ID] = resp.Status < 400
		out = append(out, resp)
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"responses": out})
	return nil
}

func (s *Server) runBatchItem(outer *http.Request, version string, br batchRequest, ok map[string]bool) batchResponse {
	for _, d := range br.DependsOn {
		if !ok[d] {
			return s.batchError(outer, br.ID, errs.E(errs.Precondition, "Dependent request '%s' failed.", d).WithCode("Request_FailedDependency"), http.StatusFailedDependency)
		}
	}
	path := strings.TrimPrefix(br.URL, "/")
	path = strings.TrimPrefix(path, version+"/")
	if strings.Contains(path, "://") || strings.HasPrefix(path, "$batch") {
		return s.batchError(outer, br.ID, errs.E(errs.Invalid, "Invalid subrequest URL '%s'.", br.URL).WithCode("BadRequest"), 0)
	}
	var body *bytes.Reader
	if len(br.Body) > 0 && string(br.Body) != "null" {
		body = bytes.NewReader(br.Body)
	} else {
		body = bytes.NewReader(nil)
	}
	method := strings.ToUpper(br.Method)
	sub, err := http.NewRequestWithContext(outer.Context(), method, "/"+version+"/"+path, body)
	if err != nil {
		return s.batchError(outer, br.ID, errs.E(errs.Invalid, "Invalid subrequest URL '%s'.", br.URL).WithCode("BadRequest"), 0)
	}
	sub.RemoteAddr = outer.RemoteAddr
	sub.Header.Set("Authorization", outer.Header.Get("Authorization"))
	for k, v := range br.Headers {
		sub.Header.Set(k, v)
	}
	sub = web.WithRequestID(sub, web.RequestID(outer))
	rec := &recorder{header: http.Header{}, Code: http.StatusOK}
	rest := strings.TrimPrefix(sub.URL.EscapedPath(), "/"+version+"/")
	s.dispatch(rec, sub, version, rest)
	resp := batchResponse{ID: br.ID, Status: rec.Code, Headers: map[string]string{}}
	for k := range rec.Header() {
		resp.Headers[k] = rec.Header().Get(k)
	}
	if b := rec.Body.Bytes(); len(b) > 0 {
		if json.Valid(b) {
			resp.Body = b
		} else {
			resp.Body, _ = web.Marshal(string(b))
		}
	}
	return resp
}

func (s *Server) batchError(r *http.Request, id string, err error, status int) batchResponse {
	st, body := s.errorBody(r, err)
	if status != 0 {
		st = status
	}
	b, _ := web.Marshal(body)
	return batchResponse{ID: id, Status: st, Headers: map[string]string{"Content-Type": "application/json"}, Body: b}
}

// recorder captures a sub-request's response in memory.
type recorder struct {
	header http.Header
	Code   int
	Body   bytes.Buffer
	wrote  bool
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.Code, r.wrote = code, true
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.Body.Write(b)
}
