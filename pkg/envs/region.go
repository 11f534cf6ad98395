package envs

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"text/tabwriter"

	"gopkg.in/yaml.v3"

	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/sops"
	"github.com/cacproj/cac/pkg/standard"
	"github.com/cacproj/cac/pkg/values"
	"github.com/cacproj/cac/pkg/yamlnode"
)

// TodoDir holds, per region, the values cac region new left to people (_todo/<region>.yaml).
const TodoDir = "_todo"

// OwnersFile at the config repo root maps usn → owning team.
const OwnersFile = "_owners.yaml"

// Unassigned is the owner of a service _owners.yaml does not name.
const Unassigned = "unassigned"

// Inventory holds the resources allocated for a new region: usn (or "_global") → value path → value,
// e.g. {user: {mysql.main.ip: 10.9.1.5}}. An inventory value fills its leaf whatever the leaf's
// delivery: it is the resource actually allocated.
type Inventory map[string]map[string]any

// RegionOptions say how cac region new builds a region.
type RegionOptions struct {
	Name, From string
	Standard   *standard.Standard // its leaves' delivery rules decide; required
	Inventory  Inventory
	Force      bool // overwrite files the region already has
	// Keys open SOPS-encrypted source files, whose new files are written encrypted again for the
	// same recipients (a fresh data key); without an identity such a file can only be copied whole.
	Keys *sops.Keys
}

// Todo is one value left to fill by hand.
type Todo struct {
	USN         string `json:"usn" yaml:"-"`
	File        string `json:"file" yaml:"-"`
	Owner       string `json:"owner" yaml:"-"`
	Path        string `json:"path" yaml:"path"`
	Description string `json:"description" yaml:"description"`
}

// Delivered counts how one file's leaves were filled.
type Delivered struct {
	USN       string `json:"usn"` // "_global" for the _global file
	File      string `json:"file"`
	Owner     string `json:"owner"`
	Copied    int    `json:"copied"`
	Generated int    `json:"generated"`
	Inventory int    `json:"inventory"`
	Manual    int    `json:"manual"`
}

// RegionReport says what cac region new wrote and what is left to do.
type RegionReport struct {
	Region string      `json:"region"`
	From   string      `json:"from"`
	Files  []string    `json:"files"`
	Per    []Delivered `json:"services"`
	Todos  []Todo      `json:"todo"`
	Result
}

// RegionBranch is the branch cac region new commits to.
func RegionBranch(name string) string { return "cac/region-new-" + name }

// TodoFile is the to-do file of a region.
func TodoFile(region string) string { return path.Join(TodoDir, region+".yaml") }

// PlanRegion computes the new region's files from the source region: each leaf's delivery rule
// decides (copy: the source value; auto: the inventory, else the leaf's generator; manual or no rule:
// left out and listed as a to-do, unless the inventory has it). The to-do list is written to
// TodoFile(Name) so validation fails until every value is filled.
func PlanRegion(fsys fs.FS, o RegionOptions) (*RegionReport, map[string][]byte, error) {
	if err := checkRegionNames(o.From, o.Name); err != nil {
		return nil, nil, err
	}
	if o.Standard == nil {
		return nil, nil, cacerr.Usage("region new needs a standard: its delivery rules decide every value")
	}
	lay, err := ReadLayout(fsys)
	if err != nil {
		return nil, nil, cacerr.Wrap(cacerr.KindUsage, err)
	}
	sel, err := selectServices(lay, o.From, nil)
	if err != nil {
		return nil, nil, err
	}
	owners, err := readOwners(fsys)
	if err != nil {
		return nil, nil, err
	}
	for usn := range o.Inventory {
		if _, ok := lay.Services[usn][o.From]; !ok && usn != values.GlobalDir {
			return nil, nil, cacerr.Usage("inventory: service %q has no %s/%s.yaml to build %s from", usn, usn, o.From, o.Name)
		}
	}
	type src struct{ usn, file string }
	var srcs []src
	if g, ok := lay.Globals[o.From]; ok {
		srcs = append(srcs, src{values.GlobalDir, g})
	}
	for _, usn := range sel {
		srcs = append(srcs, src{usn, lay.Services[usn][o.From]})
	}
	if err := refuseExisting(fsys, o.Force, func(yield func(string)) {
		for _, s := range srcs {
			yield(target(s.file, o.Name))
		}
		yield(TodoFile(o.Name))
	}); err != nil {
		return nil, nil, err
	}
	rep := &RegionReport{Region: o.Name, From: o.From, Todos: []Todo{}}
	out := map[string][]byte{}
	for _, s := range srcs {
		in, err := readRegionSource(fsys, s.file, o.Keys)
		if err != nil {
			return nil, nil, err
		}
		d, err := parseDoc(s.file, in.data)
		if err != nil {
			return nil, nil, cacerr.Wrap(cacerr.KindUsage, err)
		}
		var tree *values.Node
		if s.usn == values.GlobalDir {
			tree, _ = values.Parse(s.file, in.data)
		} else if tree, _, err = values.Load(sops.NewFS(fsys, o.Keys, true), s.usn, o.From); err != nil {
			return nil, nil, cacerr.Wrap(cacerr.KindUsage, err)
		}
		dst := target(s.file, o.Name)
		b := &builder{o: o, usn: s.usn, file: dst, plain: asMap(tree.Interface()), inv: o.Inventory[s.usn],
			del: Delivered{USN: s.usn, File: dst, Owner: owner(owners, s.usn)}, sopsMeta: in.locked != nil}
		b.walk(d.top(), "")
		if err := b.apply(d, in); err != nil {
			return nil, nil, err
		}
		var edited []byte // nil: every value copied, the file byte for byte
		if len(b.edits) > 0 {
			if edited, err = d.bytes(); err != nil {
				return nil, nil, cacerr.Usage("write %s: %w", dst, err)
			}
		}
		if out[dst], err = in.output(dst, edited); err != nil {
			return nil, nil, err
		}
		rep.Files = append(rep.Files, dst)
		rep.Per = append(rep.Per, b.del)
		rep.Todos = append(rep.Todos, b.todos...)
	}
	todo, err := todoFileBytes(rep)
	if err != nil {
		return nil, nil, err
	}
	out[TodoFile(o.Name)] = todo
	rep.Files = append(rep.Files, TodoFile(o.Name))
	sort.Strings(rep.Files)
	return rep, out, nil
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

type edit struct {
	path   string
	value  *yaml.Node // nil: remove
	origin string     // generated | inventory
}

// builder decides every leaf of one file.
type builder struct {
	o     RegionOptions
	usn   string
	file  string
	plain map[string]any
	inv   map[string]any
	del   Delivered
	edits []edit
	todos []Todo
	err   error
	seen  map[string]bool
	// sopsMeta: the document is a SOPS file still encrypted, whose top-level sops: metadata is
	// not a value
	sopsMeta bool
}

func (b *builder) walk(m *yaml.Node, prefix string) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		p := m.Content[i].Value
		if prefix != "" {
			p = prefix + "." + p
		}
		v := m.Content[i+1]
		if b.sopsMeta && prefix == "" && p == sops.MetadataKey {
			continue
		}
		rule := b.o.Standard.Leaf(p)
		if rule == nil && v.Kind == yaml.MappingNode {
			b.walk(v, p)
			continue
		}
		b.leaf(p, v, rule)
	}
}

func (b *builder) leaf(p string, v *yaml.Node, rule *standard.Rule) {
	if b.seen == nil {
		b.seen = map[string]bool{}
	}
	b.seen[p] = true
	if val, ok := b.inv[p]; ok {
		b.edits = append(b.edits, edit{path: p, value: yamlnode.Encode(val), origin: "inventory"})
		b.del.Inventory++
		return
	}
	delivery := standard.DeliveryManual
	if rule != nil && rule.Delivery != "" {
		delivery = rule.Delivery
	}
	switch delivery {
	case standard.DeliveryCopy:
		b.del.Copied++
	case standard.DeliveryAuto:
		var source any
		if err := v.Decode(&source); err != nil {
			source = v.Value
		}
		got, err := rule.Generate(standard.GenerateInput{Region: b.o.Name, USN: b.usn, Path: p, Source: source, Values: b.plain})
		if err != nil && b.err == nil {
			b.err = cacerr.Usage("%s: %w", b.file, err)
		}
		b.edits = append(b.edits, edit{path: p, value: yamlnode.Encode(got), origin: "generated"})
		b.del.Generated++
	default:
		desc := "no delivery rule in the standard covers it"
		if rule != nil && rule.Description != "" {
			desc = rule.Description
		}
		b.edits = append(b.edits, edit{path: p})
		b.todos = append(b.todos, Todo{USN: b.usn, File: b.file, Owner: b.del.Owner, Path: p, Description: desc})
		b.del.Manual++
	}
}

func (b *builder) apply(d *doc, in *regionSource) error {
	if b.err != nil {
		return b.err
	}
	for _, p := range sortedKeys(b.inv) {
		if !b.seen[p] { // a resource the source region does not have
			b.edits = append(b.edits, edit{path: p, value: yamlnode.Encode(b.inv[p]), origin: "inventory"})
			b.del.Inventory++
		}
	}
	if len(b.edits) > 0 {
		e := b.edits[0]
		why := map[string]string{"": "left to fill by hand", "generated": "generated", "inventory": "from the inventory"}[e.origin]
		if err := in.editable(fmt.Sprintf("region new (%s: %s)", e.path, why)); err != nil {
			return err
		}
	}
	for _, e := range b.edits {
		if e.value == nil {
			d.remove(e.path)
		} else {
			d.set(e.path, e.value)
		}
	}
	return nil
}

func readOwners(fsys fs.FS) (map[string]string, error) {
	data, err := fs.ReadFile(fsys, OwnersFile)
	if err != nil {
		return nil, nil
	}
	var owners map[string]string
	if err := yaml.Unmarshal(data, &owners); err != nil {
		return nil, cacerr.Usage("%s: want a mapping of service → team: %w", OwnersFile, err)
	}
	return owners, nil
}

func owner(owners map[string]string, usn string) string {
	if o := owners[usn]; o != "" {
		return o
	}
	return Unassigned
}

// todoFile is the layout of _todo/<region>.yaml.
type todoFile struct {
	Region   string                  `yaml:"region"`
	From     string                  `yaml:"from"`
	Services map[string]*todoService `yaml:"services"`
}

type todoService struct {
	Owner string `yaml:"owner"`
	File  string `yaml:"file"`
	Todo  []Todo `yaml:"todo"`
}

func todoFileBytes(r *RegionReport) ([]byte, error) {
	tf := todoFile{Region: r.Region, From: r.From, Services: map[string]*todoService{}}
	for _, t := range r.Todos {
		s := tf.Services[t.USN]
		if s == nil {
			s = &todoService{Owner: t.Owner, File: t.File}
			tf.Services[t.USN] = s
		}
		s.Todo = append(s.Todo, t)
	}
	body, err := yaml.Marshal(tf)
	if err != nil {
		return nil, cacerr.Usage("write %s: %w", TodoFile(r.Region), err)
	}
	head := fmt.Sprintf("# Values `cac region new` left to people for region %s (delivery: manual).\n"+
		"# Fill each path in its file; `cac validate` fails while one is missing. Delete this file when done.\n", r.Region)
	return append([]byte(head), body...), nil
}

// NewRegion runs cac region new over a config repo: PlanRegion, then one commit on
// RegionBranch(Name) (see PublishOptions).
func NewRegion(ctx context.Context, src Source, o RegionOptions, p PublishOptions) (*RegionReport, error) {
	w, err := openWorkspace(ctx, src)
	if err != nil {
		return nil, err
	}
	defer w.close()
	rep, files, err := PlanRegion(os.DirFS(w.dir), o)
	if err != nil {
		return nil, err
	}
	msg := fmt.Sprintf("cac region new: %s from %s (%d values to fill by hand)", o.Name, o.From, len(rep.Todos))
	if p.Body == "" {
		var b strings.Builder
		rep.WriteTodoMarkdown(&b)
		p.Body = b.String()
	}
	rep.Result, err = publish(ctx, w, RegionBranch(o.Name), msg, files, p)
	return rep, err
}

// WriteText prints per file how its values were delivered, then the to-dos.
func (r *RegionReport) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "region new %s from %s: %d files, %d values to fill by hand\n", r.Region, r.From, len(r.Files), len(r.Todos))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "SERVICE\tFILE\tCOPIED\tGENERATED\tINVENTORY\tMANUAL\tOWNER\n")
	for _, d := range r.Per {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%s\n", displayName(d.USN), d.File, d.Copied, d.Generated, d.Inventory, d.Manual, d.Owner)
	}
	tw.Flush()
	for _, t := range r.Todos {
		fmt.Fprintf(w, "todo: fill %s in %s (%s): %s\n", t.Path, t.File, t.Owner, t.Description)
	}
	return r.Result.writeText(w)
}

// WriteJSON prints the report as indented JSON.
func (r *RegionReport) WriteJSON(w io.Writer) error { return writeJSON(w, r) }

// WriteTodoMarkdown writes the to-do list grouped by owner and service, as check boxes.
func (r *RegionReport) WriteTodoMarkdown(w io.Writer) error {
	fmt.Fprintf(w, "# Region %s: values to fill by hand\n\n", r.Region)
	fmt.Fprintf(w, "`cac region new` built %s from %s; %d values have `delivery: manual` (or no rule) and are left out. "+
		"`cac validate` fails until each is filled; `cac region status %s` shows progress.\n", r.Region, r.From, len(r.Todos), r.Region)
	byOwner := map[string][]Todo{}
	for _, t := range r.Todos {
		byOwner[t.Owner] = append(byOwner[t.Owner], t)
	}
	for _, o := range sortedKeys(byOwner) {
		fmt.Fprintf(w, "\n## %s\n", o)
		last := ""
		for _, t := range byOwner[o] {
			if t.USN != last {
				fmt.Fprintf(w, "\n### %s (`%s`)\n\n", displayName(t.USN), t.File)
				last = t.USN
			}
			fmt.Fprintf(w, "- [ ] `%s`: %s\n", t.Path, t.Description)
		}
	}
	return nil
}

func displayName(usn string) string {
	if usn == "" {
		return "."
	}
	return usn
}
