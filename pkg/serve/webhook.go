package serve

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/google/go-github/v60/github"
	gitlab "gitlab.com/gitlab-org/api/client-go/v2"
)

// answer is the JSON body of every webhook response.
type answer struct {
	Queued  bool   `json:"queued,omitempty"`
	Ignored string `json:"ignored,omitempty"`
	Error   string `json:"error,omitempty"`
}

func reply(w http.ResponseWriter, status int, a answer) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(a)
}

// webhook handles one delivery: verify, parse, dedupe, queue.
func (s *Server) webhook(w http.ResponseWriter, r *http.Request) {
	s.stats.deliveries.Add(1)
	status, a := s.handle(w, r)
	switch {
	case status != http.StatusAccepted:
		s.stats.rejected.Add(1)
		s.log.Warn("delivery refused", "status", status, "why", a.Error, "remote", r.RemoteAddr)
	case a.Ignored != "":
		s.log.Debug("delivery ignored", "why", a.Ignored)
	}
	reply(w, status, a)
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) (int, answer) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return http.StatusMethodNotAllowed, answer{Error: "webhooks are POSTed"}
	}
	var source string
	switch {
	case r.Header.Get(github.EventTypeHeader) != "":
		source = "github"
	case r.Header.Get("X-Gitlab-Event") != "":
		source = "gitlab"
	default:
		return http.StatusBadRequest, answer{Error: "not a GitHub or GitLab webhook (no X-GitHub-Event or X-Gitlab-Event header)"}
	}
	if r.ContentLength > s.opt.MaxBody {
		return http.StatusRequestEntityTooLarge, answer{Error: fmt.Sprintf("body larger than %d bytes", s.opt.MaxBody)}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opt.MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return http.StatusRequestEntityTooLarge, answer{Error: fmt.Sprintf("body larger than %d bytes", s.opt.MaxBody)}
		}
		return http.StatusBadRequest, answer{Error: "read body: " + err.Error()}
	}
	var (
		job      *Job
		ignored  string
		delivery string
	)
	if source == "github" {
		if len(s.opt.GitHubSecret) == 0 {
			return http.StatusUnauthorized, answer{Error: "GitHub deliveries are not accepted: the server has no CAC_WEBHOOK_SECRET"}
		}
		// go-github falls back to the SHA-1 X-Hub-Signature; only SHA-256 is accepted here.
		if r.Header.Get(github.SHA256SignatureHeader) == "" {
			return http.StatusUnauthorized, answer{Error: "no X-Hub-Signature-256 header"}
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		payload, err := github.ValidatePayload(r, s.opt.GitHubSecret)
		if err != nil {
			return http.StatusUnauthorized, answer{Error: "bad signature"}
		}
		delivery = github.DeliveryID(r)
		job, ignored, err = githubJob(github.WebHookType(r), payload)
		if err != nil {
			return http.StatusBadRequest, answer{Error: err.Error()}
		}
	} else {
		if s.opt.GitLabToken == "" {
			return http.StatusUnauthorized, answer{Error: "GitLab deliveries are not accepted: the server has no CAC_GITLAB_WEBHOOK_TOKEN"}
		}
		if !sameSecret(gitlab.HookEventToken(r), s.opt.GitLabToken) {
			return http.StatusUnauthorized, answer{Error: "bad X-Gitlab-Token"}
		}
		delivery = r.Header.Get("X-Gitlab-Event-UUID")
		job, ignored, err = gitlabJob(gitlab.HookEventType(r), body)
		if err != nil {
			return http.StatusBadRequest, answer{Error: err.Error()}
		}
	}
	if delivery != "" && s.seen.add(source+":"+delivery) {
		s.stats.duplicates.Add(1)
		return http.StatusAccepted, answer{Ignored: "delivery " + delivery + " was received before"}
	}
	if job != nil && job.Kind == Push {
		ignored = "pushes are not acted on"
		if s.opt.IgnorePush != nil {
			ignored = s.opt.IgnorePush(*job)
		}
		if ignored != "" {
			job = nil
		}
	}
	if job == nil {
		s.stats.ignored.Add(1)
		return http.StatusAccepted, answer{Ignored: ignored}
	}
	job.Delivery = delivery
	if err := s.Enqueue(*job); err != nil {
		w.Header().Set("Retry-After", "60")
		return http.StatusServiceUnavailable, answer{Error: err.Error()}
	}
	s.log.Info("queued", "job", job.Key(), "sha", job.HeadSHA, "delivery", delivery)
	return http.StatusAccepted, answer{Queued: true}
}

// sameSecret compares in constant time; hashing first hides the length as well.
func sameSecret(got, want string) bool {
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

// githubJob turns a verified GitHub delivery into a job, or says why it is ignored.
func githubJob(event string, payload []byte) (*Job, string, error) {
	if event == "push" {
		return githubPush(payload)
	}
	if event != "pull_request" {
		return nil, "event " + event + " is not pull_request or push", nil
	}
	parsed, err := github.ParseWebHook(event, payload)
	if err != nil {
		return nil, "", fmt.Errorf("pull_request payload: %w", err)
	}
	ev := parsed.(*github.PullRequestEvent)
	switch a := ev.GetAction(); a {
	case "opened", "synchronize", "reopened":
	default:
		return nil, "pull_request action " + a + " changes no code", nil
	}
	pr := ev.GetPullRequest()
	job := &Job{
		Forge:        "github",
		Repo:         ev.GetRepo().GetFullName(),
		Number:       int64(pr.GetNumber()),
		HeadSHA:      pr.GetHead().GetSHA(),
		HeadBranch:   pr.GetHead().GetRef(),
		BaseBranch:   pr.GetBase().GetRef(),
		CloneURL:     pr.GetHead().GetRepo().GetCloneURL(),
		BaseCloneURL: pr.GetBase().GetRepo().GetCloneURL(),
	}
	if job.Repo == "" {
		job.Repo = pr.GetBase().GetRepo().GetFullName()
	}
	if err := job.check(); err != nil {
		return nil, "", fmt.Errorf("pull_request payload: %w", err)
	}
	return job, "", nil
}

// gitlabJob turns a verified GitLab delivery into a job, or says why it is ignored.
func gitlabJob(event gitlab.EventType, payload []byte) (*Job, string, error) {
	if event == gitlab.EventTypePush {
		return gitlabPush(payload)
	}
	if event != gitlab.EventTypeMergeRequest {
		return nil, "event " + string(event) + " is not Merge Request Hook or Push Hook", nil
	}
	parsed, err := gitlab.ParseWebhook(event, payload)
	if err != nil {
		return nil, "", fmt.Errorf("merge request payload: %w", err)
	}
	ev := parsed.(*gitlab.MergeEvent)
	attr := ev.ObjectAttributes
	switch attr.Action {
	case "open", "reopen":
	case "update":
		if attr.OldRev == "" {
			return nil, "merge request update without new commits", nil
		}
	default:
		return nil, "merge request action " + attr.Action + " changes no code", nil
	}
	job := &Job{
		Forge:      "gitlab",
		Project:    strconv.FormatInt(ev.Project.ID, 10),
		Number:     attr.IID,
		HeadSHA:    attr.LastCommit.ID,
		HeadBranch: attr.SourceBranch,
		BaseBranch: attr.TargetBranch,
	}
	if attr.Source != nil {
		job.CloneURL = attr.Source.HTTPURL
	}
	if attr.Target != nil {
		job.BaseCloneURL = attr.Target.HTTPURL
	}
	if job.BaseCloneURL == "" {
		job.BaseCloneURL = ev.Project.GitHTTPURL
	}
	if job.CloneURL == "" {
		job.CloneURL = job.BaseCloneURL
	}
	if ev.Project.ID == 0 {
		job.Project = ev.Project.PathWithNamespace
	}
	if err := job.check(); err != nil {
		return nil, "", fmt.Errorf("merge request payload: %w", err)
	}
	return job, "", nil
}

// githubPush turns a verified GitHub push delivery into a push job; tags and deletions are ignored.
func githubPush(payload []byte) (*Job, string, error) {
	parsed, err := github.ParseWebHook("push", payload)
	if err != nil {
		return nil, "", fmt.Errorf("push payload: %w", err)
	}
	ev := parsed.(*github.PushEvent)
	repo := ev.GetRepo()
	job := &Job{Kind: Push, Forge: "github", Repo: repo.GetFullName(), HeadSHA: ev.GetAfter(), Before: ev.GetBefore(),
		CloneURL: repo.GetCloneURL(), DefaultBranch: repo.GetDefaultBranch()}
	if job.DefaultBranch == "" {
		job.DefaultBranch = repo.GetMasterBranch()
	}
	return pushJob(job, ev.GetRef(), ev.GetDeleted())
}

// gitlabPush turns a verified GitLab Push Hook into a push job; deletions are ignored (tag
// pushes come as Tag Push Hook).
func gitlabPush(payload []byte) (*Job, string, error) {
	parsed, err := gitlab.ParseWebhook(gitlab.EventTypePush, payload)
	if err != nil {
		return nil, "", fmt.Errorf("push payload: %w", err)
	}
	ev := parsed.(*gitlab.PushEvent)
	id := ev.ProjectID
	if id == 0 {
		id = ev.Project.ID
	}
	job := &Job{Kind: Push, Forge: "gitlab", Project: strconv.FormatInt(id, 10), HeadSHA: ev.After, Before: ev.Before,
		CloneURL: ev.Project.GitHTTPURL, DefaultBranch: ev.Project.DefaultBranch}
	if id == 0 {
		job.Project = ev.Project.PathWithNamespace
	}
	return pushJob(job, ev.Ref, false)
}

// pushJob finishes a push job from its ref, or says why the push is ignored.
func pushJob(job *Job, ref string, deleted bool) (*Job, string, error) {
	branch, ok := strings.CutPrefix(ref, "refs/heads/")
	switch {
	case !ok:
		return nil, "push of " + ref + " is not a branch push", nil
	case deleted || strings.Trim(job.HeadSHA, "0") == "":
		return nil, "push deletes branch " + branch, nil
	}
	job.HeadBranch = branch
	for _, f := range []struct{ name, val string }{
		{"repository", job.Repo + job.Project}, {"after sha", job.HeadSHA}, {"clone URL", job.CloneURL},
	} {
		if f.val == "" {
			return nil, "", fmt.Errorf("push payload: no %s", f.name)
		}
	}
	return job, "", nil
}

// check says which field a payload lacked.
func (j *Job) check() error {
	for _, f := range []struct{ name, val string }{
		{"repository", j.Repo + j.Project}, {"head sha", j.HeadSHA}, {"head branch", j.HeadBranch},
		{"base branch", j.BaseBranch}, {"clone URL", j.CloneURL},
	} {
		if f.val == "" {
			return fmt.Errorf("no %s", f.name)
		}
	}
	if j.Number <= 0 {
		return errors.New("no pull/merge request number")
	}
	return nil
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if closed {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	json.NewEncoder(w).Encode(struct {
		OK bool `json:"ok"`
		Stats
	}{!closed, s.Stats()})
}
