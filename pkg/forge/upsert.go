package forge

import (
	"cmp"
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
)

// UpsertResult lists the comment IDs each step touched.
type UpsertResult struct {
	Created   []int64 // parts that had no comment yet
	Updated   []int64 // parts edited in place
	Unchanged []int64 // parts whose comment already said the same
	Deleted   []int64 // stale parts (the diff shrank) and duplicates
}

// Marker identifies a service's comments on a pull/merge request; usn "" (a single-service
// config repo) is "config". The same on GitHub and GitLab.
func Marker(usn string) string {
	if usn == "" {
		usn = "config"
	}
	return "cac-diff:" + usn
}

// MarkerLine is the hidden first line of part n of the comment identified by marker: an HTML
// comment, which both forges keep in the body and do not show.
func MarkerLine(marker string, n int) string {
	return fmt.Sprintf("<!-- %s part %d -->", marker, n)
}

// markerRe matches the line MarkerLine writes at the start of a part.
func markerRe(marker string) *regexp.Regexp {
	return regexp.MustCompile(`^\s*<!-- ` + regexp.QuoteMeta(marker) + ` part (\d+) -->`)
}

// Upsert keeps one comment per part on the pull/merge request: it lists all comments, finds ours
// by the marker line each part starts with, edits changed parts in place, creates missing ones,
// and deletes parts beyond len(parts) (the diff shrank) and duplicates of a part (keeping the
// oldest, so the comment keeps its place in the thread). When a part is missing (someone deleted
// it), the parts after it are recreated as well, so the thread shows them in order. parts[i] must
// start with the marker line of part i+1.
func Upsert(ctx context.Context, store CommentStore, marker string, parts []string) (UpsertResult, error) {
	var res UpsertResult
	re := markerRe(marker)
	for i, p := range parts {
		if n := partOf(re, p); n != i+1 {
			return res, fmt.Errorf("comment part %d does not start with its marker <!-- %s part %d -->", i+1, marker, i+1)
		}
	}
	comments, err := store.ListComments(ctx)
	if err != nil {
		return res, err
	}
	ours := map[int][]Comment{} // part number → comments, oldest first
	for _, c := range comments {
		if n := partOf(re, c.Body); n > 0 {
			ours[n] = append(ours[n], c)
		}
	}
	// Parts after the first missing one are recreated too, so the parts stay in order in the thread.
	firstMissing := len(parts) + 1
	for n := 1; n <= len(parts); n++ {
		if len(ours[n]) == 0 {
			firstMissing = n
			break
		}
	}
	var stale []int64
	for n, cs := range ours {
		slices.SortFunc(cs, func(a, b Comment) int { return cmp.Compare(a.ID, b.ID) })
		for _, dup := range cs[1:] {
			stale = append(stale, dup.ID)
		}
		if n > len(parts) || n > firstMissing {
			stale = append(stale, cs[0].ID)
			ours[n] = nil
		}
	}
	for i, body := range parts {
		cs := ours[i+1]
		switch {
		case len(cs) == 0:
			c, err := store.CreateComment(ctx, body)
			if err != nil {
				return res, err
			}
			res.Created = append(res.Created, c.ID)
		case cs[0].Body == body:
			res.Unchanged = append(res.Unchanged, cs[0].ID)
		default:
			if err := store.UpdateComment(ctx, cs[0].ID, body); err != nil {
				return res, err
			}
			res.Updated = append(res.Updated, cs[0].ID)
		}
	}
	slices.Sort(stale)
	for _, id := range stale {
		if err := store.DeleteComment(ctx, id); err != nil {
			return res, err
		}
		res.Deleted = append(res.Deleted, id)
	}
	return res, nil
}

func partOf(re *regexp.Regexp, body string) int {
	m := re.FindStringSubmatch(body)
	if m == nil {
		return 0
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		return 0
	}
	return n
}
