package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"log/slog"
	"net/http"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/sendtrail/sendtrail/commands"
	"github.com/sendtrail/sendtrail/domain"
	"github.com/sendtrail/sendtrail/evidence"
	pb "github.com/sendtrail/sendtrail/gen/sendtrail/v1"
	"github.com/sendtrail/sendtrail/gen/sendtrail/v1/sendtrailv1connect"
	"github.com/sendtrail/sendtrail/projections"
)

// ExportChunk is the size of the zip chunks ExportEvidence sends.
const ExportChunk = 256 << 10

// AuditServer implements sendtrail.v1.AuditService: evidence bundles,
// checkpoints and the signing key.
type AuditServer struct {
	cmds *commands.Handler
	db   *projections.DB
	key  *evidence.Key
	log  *slog.Logger
	now  func() time.Time
}

var _ sendtrailv1connect.AuditServiceHandler = (*AuditServer)(nil)

var auditRules = map[string]rule{
	sendtrailv1connect.AuditServiceExportEvidenceProcedure: {Need: PermExport},
	sendtrailv1connect.AuditServiceGetCheckpointProcedure:  {Need: PermRead},
	sendtrailv1connect.AuditServiceGetPublicKeyProcedure:   {Need: PermRead},
}

func init() {
	registerService(sendtrailv1connect.AuditServiceName, auditRules, func(cfg Config, opts []connect.HandlerOption) (string, http.Handler) {
		return sendtrailv1connect.NewAuditServiceHandler(&AuditServer{cmds: cfg.Commands, db: cfg.DB, key: cfg.SigningKey, log: cfg.Log, now: cfg.Now}, opts...)
	})
}

var errNoKey = &domain.Error{Code: domain.EUNAVAILABLE, Message: "this server has no signing key: evidence export is not configured"}

func (s *AuditServer) wait(ctx context.Context, seq uint64) error {
	return readAfter(ctx, s.db, s.cmds, seq)
}

// ExportEvidence implements sendtrail.v1.AuditService.ExportEvidence. The
// stream was authenticated by the interceptor; it is authorized here, once
// the request names the plan.
func (s *AuditServer) ExportEvidence(ctx context.Context, req *connect.Request[pb.ExportEvidenceRequest], stream *connect.ServerStream[pb.ExportEvidenceResponse]) error {
	m := req.Msg
	p, ok := PrincipalFrom(ctx)
	if !ok {
		return errUnauthenticated
	}
	if _, err := authorize(p, sendtrailv1connect.AuditServiceExportEvidenceProcedure, m.GetPlan()); err != nil {
		return err
	}
	if s.key == nil {
		return errNoKey
	}
	if err := domain.ValidateSlug(m.GetPlan()); err != nil {
		return err
	}
	asOf, day, err := evidence.ParseAsOf(m.GetAsOf())
	if err != nil {
		return err
	}
	if err := s.wait(ctx, m.GetMinSequence()); err != nil {
		return err
	}
	x := &evidence.Exporter{DB: s.db.Reader(), Key: s.key, Now: s.now}
	prep, err := x.Prepare(ctx, evidence.Request{Plan: m.GetPlan(), AsOf: asOf, AsOfDay: day, Previous: m.GetPreviousCheckpoint(), By: p.Actor()})
	if err != nil {
		return err
	}
	if err := stream.Send(&pb.ExportEvidenceResponse{Kind: &pb.ExportEvidenceResponse_Info{Info: &pb.EvidenceBundleInfo{
		FileName: prep.FileName(), TreeSize: prep.Size(), RootHash: prep.RootBase64(), Checkpoint: prep.Checkpoint(),
		KeyFingerprint: s.key.Fingerprint(), AsOf: timestamppb.New(prep.AsOf()),
	}}}); err != nil {
		return err
	}
	cw := &chunkWriter{stream: stream, buf: make([]byte, 0, ExportChunk), sum: sha256.New()}
	if err := prep.WriteTo(ctx, cw); err != nil {
		return err
	}
	if err := cw.flush(); err != nil {
		return err
	}
	// The export is recorded only once the whole bundle is sent; a stream
	// that ends before done is an incomplete bundle, and unrecorded.
	res, err := s.cmds.Execute(ctx, commands.PlanTarget(m.GetPlan()),
		domain.RecordExport{AsOf: prep.AsOf(), TreeSize: prep.Size(), RootHash: prep.RootBase64()}, commands.Meta{Actor: p.Actor()})
	if err != nil {
		return err
	}
	s.log.InfoContext(ctx, "evidence exported", "plan", m.GetPlan(), "by", p.ID, "events", prep.Size(), "root", prep.RootBase64(), "bytes", cw.n, "sequence", res.Sequence)
	return stream.Send(&pb.ExportEvidenceResponse{Kind: &pb.ExportEvidenceResponse_Done{Done: &pb.EvidenceBundleDone{
		Sequence: res.Sequence, Size: uint64(cw.n), Sha256: hex.EncodeToString(cw.sum.Sum(nil)),
	}}})
}

// chunkWriter sends what is written as chunks of ExportChunk bytes.
type chunkWriter struct {
	stream *connect.ServerStream[pb.ExportEvidenceResponse]
	buf    []byte
	sum    hash.Hash
	n      int64
}

func (w *chunkWriter) Write(p []byte) (int, error) {
	total := len(p)
	for len(p) > 0 {
		k := min(len(p), cap(w.buf)-len(w.buf))
		w.buf = append(w.buf, p[:k]...)
		p = p[k:]
		if len(w.buf) == cap(w.buf) {
			if err := w.flush(); err != nil {
				return total - len(p), err
			}
		}
	}
	return total, nil
}

func (w *chunkWriter) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	w.sum.Write(w.buf)
	w.n += int64(len(w.buf))
	err := w.stream.Send(&pb.ExportEvidenceResponse{Kind: &pb.ExportEvidenceResponse_Chunk{Chunk: w.buf}})
	w.buf = make([]byte, 0, ExportChunk) // the sent message keeps the old one until it is written
	return err
}

// GetCheckpoint implements sendtrail.v1.AuditService.GetCheckpoint.
func (s *AuditServer) GetCheckpoint(ctx context.Context, req *connect.Request[pb.GetCheckpointRequest]) (*connect.Response[pb.GetCheckpointResponse], error) {
	if s.key == nil {
		return nil, errNoKey
	}
	if err := domain.ValidateSlug(req.Msg.GetPlan()); err != nil {
		return nil, err
	}
	if err := s.wait(ctx, req.Msg.GetMinSequence()); err != nil {
		return nil, err
	}
	h, err := evidence.LatestHead(ctx, s.db.Reader(), req.Msg.GetPlan(), s.key)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&pb.GetCheckpointResponse{
		Checkpoint: h.Checkpoint, TreeSize: h.Size, RootHash: evidence.Checkpoint{Root: h.Root}.RootBase64(),
		LastSequence: h.LastSeq, KeyFingerprint: s.key.Fingerprint(),
	}), nil
}

// GetPublicKey implements sendtrail.v1.AuditService.GetPublicKey.
func (s *AuditServer) GetPublicKey(ctx context.Context, req *connect.Request[pb.GetPublicKeyRequest]) (*connect.Response[pb.GetPublicKeyResponse], error) {
	if s.key == nil {
		return nil, errNoKey
	}
	return connect.NewResponse(&pb.GetPublicKeyResponse{
		PublicKeyPem: string(s.key.PEM()), VerifierKey: s.key.VerifierKey(), Fingerprint: s.key.Fingerprint(),
	}), nil
}
