package evidence

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// The tree is RFC 6962 / RFC 9162: SHA-256, leaf hash H(0x00 || event
// bytes), node hash H(0x01 || left || right). Leaf i is the plan's i-th
// event in stream order, as the stream stores it.
var (
	hasher  = rfc6962.DefaultHasher
	factory = &compact.RangeFactory{Hash: hasher.HashChildren}
)

// LeafHash is the hash of one leaf: the exact stored bytes of an event.
func LeafHash(raw []byte) []byte { return hasher.HashLeaf(raw) }

// tree grows a Merkle tree leaf by leaf in O(log n) memory, and on the way
// keeps the root at sizes asked for in advance and the node hashes a
// consistency proof needs.
type tree struct {
	r      *compact.Range
	roots  map[uint64][]byte // size → root, for sizes asked for
	proofs []*proofBuilder
}

type proofBuilder struct {
	from, to uint64
	nodes    proof.Nodes
	index    map[compact.NodeID]int
	hashes   [][]byte
}

func newTree() *tree { return &tree{r: factory.NewEmptyRange(0), roots: map[uint64][]byte{}} }

// treeFrom resumes a tree from its compact range.
func treeFrom(size uint64, hashes [][]byte) (*tree, error) {
	r, err := factory.NewRange(0, size, hashes)
	if err != nil {
		return nil, err
	}
	return &tree{r: r, roots: map[uint64][]byte{}}, nil
}

// rootAt asks for the root at size (before any leaf is added).
func (t *tree) rootAt(size uint64) {
	if _, ok := t.roots[size]; !ok {
		t.roots[size] = nil
	}
	if size == 0 {
		t.roots[0] = hasher.EmptyRoot()
	}
}

// proveConsistency asks for a consistency proof from size from to size to
// (before any leaf is added).
func (t *tree) proveConsistency(from, to uint64) error {
	nodes, err := proof.Consistency(from, to)
	if err != nil {
		return err
	}
	pb := &proofBuilder{from: from, to: to, nodes: nodes, index: map[compact.NodeID]int{}, hashes: make([][]byte, len(nodes.IDs))}
	for i, id := range nodes.IDs {
		pb.index[id] = i
	}
	t.proofs = append(t.proofs, pb)
	t.rootAt(from)
	t.rootAt(to)
	return nil
}

func (t *tree) size() uint64 { return t.r.End() }

// add appends a leaf: the exact stored bytes of the next event.
func (t *tree) add(raw []byte) error { return t.addHash(LeafHash(raw)) }

func (t *tree) addHash(h []byte) error {
	var visit compact.VisitFn
	if len(t.proofs) > 0 {
		visit = func(id compact.NodeID, hash []byte) {
			for _, p := range t.proofs {
				if i, ok := p.index[id]; ok {
					p.hashes[i] = append([]byte(nil), hash...)
				}
			}
		}
	}
	if err := t.r.Append(h, visit); err != nil {
		return err
	}
	if _, ok := t.roots[t.r.End()]; ok {
		root, err := t.r.GetRootHash(nil)
		if err != nil {
			return err
		}
		t.roots[t.r.End()] = root
	}
	return nil
}

// root is the root hash of the tree as it stands.
func (t *tree) root() []byte {
	if t.r.End() == 0 {
		return hasher.EmptyRoot()
	}
	root, err := t.r.GetRootHash(nil)
	if err != nil {
		panic(err) // the range starts at 0
	}
	return root
}

// rootOf returns the root kept at size.
func (t *tree) rootOf(size uint64) ([]byte, bool) {
	r, ok := t.roots[size]
	return r, ok && r != nil
}

// consistency returns the proof asked for from..to, once the tree has
// reached to.
func (t *tree) consistency(from, to uint64) ([][]byte, error) {
	for _, p := range t.proofs {
		if p.from != from || p.to != to {
			continue
		}
		if t.size() < to {
			return nil, fmt.Errorf("tree has %d leaves, not %d", t.size(), to)
		}
		hs := make([][]byte, len(p.hashes))
		for i, h := range p.hashes {
			if h == nil {
				return nil, fmt.Errorf("node %v of the proof was not seen", p.nodes.IDs[i])
			}
			hs[i] = append([]byte(nil), h...)
		}
		return p.nodes.Rehash(hs, hasher.HashChildren)
	}
	return nil, fmt.Errorf("no proof from %d to %d was asked for", from, to)
}

// verifyConsistency checks a consistency proof between two tree heads.
func verifyConsistency(from, to uint64, hashes [][]byte, fromRoot, toRoot []byte) error {
	return proof.VerifyConsistency(hasher, from, to, hashes, fromRoot, toRoot)
}

// ConsistencyProof is the content of consistency-proof.txt: an RFC 9162
// consistency proof between an earlier checkpoint of the same log and this
// bundle's.
type ConsistencyProof struct {
	Origin   string
	From, To uint64
	Hashes   [][]byte
}

// Marshal writes the proof as text: the origin, "from N", "to M", then one
// base64 hash a line.
func (p ConsistencyProof) Marshal() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\nfrom %d\nto %d\n", p.Origin, p.From, p.To)
	for _, h := range p.Hashes {
		b.WriteString(base64.StdEncoding.EncodeToString(h))
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// ParseConsistencyProof reads consistency-proof.txt.
func ParseConsistencyProof(b []byte) (ConsistencyProof, error) {
	var p ConsistencyProof
	sc := bufio.NewScanner(bytes.NewReader(b))
	n := 0
	for sc.Scan() {
		line := sc.Text()
		switch n {
		case 0:
			p.Origin = line
		case 1, 2:
			word, num, _ := strings.Cut(line, " ")
			v, err := strconv.ParseUint(num, 10, 64)
			if err != nil || (n == 1 && word != "from") || (n == 2 && word != "to") {
				return p, fmt.Errorf("line %d: want \"from N\" then \"to M\", got %q", n+1, line)
			}
			if n == 1 {
				p.From = v
			} else {
				p.To = v
			}
		default:
			h, err := decodeB64(line)
			if err != nil || len(h) != 32 {
				return p, fmt.Errorf("line %d: %q is not a base64 SHA-256 hash", n+1, line)
			}
			p.Hashes = append(p.Hashes, h)
		}
		n++
	}
	if n < 3 {
		return p, fmt.Errorf("want an origin, \"from N\" and \"to M\"")
	}
	return p, sc.Err()
}
