// The full mesh of RTCPeerConnections of a consult (2–4 people). The newcomer offers to everyone already
// present; offers crossing each other (glare, e.g. after an ICE restart) are settled by perfect
// negotiation: the peer with the smaller id is polite and rolls its own offer back. Candidates trickle.

import type { IceCandidateFrame } from "./protocol";
import type { SignalingClient } from "./signaling";

interface Link {
  pc: RTCPeerConnection;
  polite: boolean;
  makingOffer: boolean;
  ignoreOffer: boolean;
}

export type RemoteStreamHandler = (peerId: string, stream: MediaStream | null) => void;

export class PeerMesh {
  private readonly links = new Map<string, Link>();

  constructor(
    private readonly selfId: string,
    private readonly iceServers: RTCIceServer[],
    private readonly local: MediaStream,
    private readonly signaling: SignalingClient,
    private readonly onRemoteStream: RemoteStreamHandler,
  ) {}

  /** Open a connection to a peer and offer (we are the newcomer, or we came back after a drop). */
  call(peerId: string): void {
    this.close(peerId);
    this.link(peerId);
  }

  async onOffer(from: string, sdp: string): Promise<void> {
    const link = this.links.get(from) ?? this.link(from);
    const collision = link.makingOffer || link.pc.signalingState !== "stable";
    link.ignoreOffer = !link.polite && collision;
    if (link.ignoreOffer) return;
    await link.pc.setRemoteDescription({ type: "offer", sdp });
    await link.pc.setLocalDescription();
    this.signaling.send({ type: "answer", to: from, sdp: link.pc.localDescription?.sdp ?? "" });
  }

  async onAnswer(from: string, sdp: string): Promise<void> {
    const link = this.links.get(from);
    if (link && link.pc.signalingState === "have-local-offer") await link.pc.setRemoteDescription({ type: "answer", sdp });
  }

  async onIce(from: string, candidate: IceCandidateFrame | null): Promise<void> {
    const link = this.links.get(from);
    if (!link) return;
    try {
      await link.pc.addIceCandidate(candidate ?? undefined);
    } catch (error) {
      if (!link.ignoreOffer) throw error;
    }
  }

  /** Put another camera track (or none) on every connection without renegotiating. */
  async replaceVideo(track: MediaStreamTrack | null): Promise<void> {
    await Promise.all(this.videoSenders().map((sender) => sender.replaceTrack(track)));
  }

  /** Cap the video send bitrate on every connection (null: no cap). */
  async limitVideoBitrate(bps: number | null): Promise<void> {
    await Promise.all(
      this.videoSenders().map(async (sender) => {
        const parameters = sender.getParameters();
        if (!parameters.encodings?.length) return;
        for (const encoding of parameters.encodings) {
          if (bps === null) delete encoding.maxBitrate;
          else encoding.maxBitrate = bps;
        }
        await sender.setParameters(parameters);
      }),
    );
  }

  connections(): Map<string, RTCPeerConnection> {
    return new Map([...this.links].map(([peerId, link]) => [peerId, link.pc]));
  }

  close(peerId: string): void {
    const link = this.links.get(peerId);
    if (!link) return;
    link.pc.close();
    this.links.delete(peerId);
    this.onRemoteStream(peerId, null);
  }

  closeAll(): void {
    for (const peerId of [...this.links.keys()]) this.close(peerId);
  }

  private videoSenders(): RTCRtpSender[] {
    // By the transceiver's kind: a sender whose camera track was stopped has no track to ask.
    return [...this.links.values()].flatMap((link) =>
      link.pc
        .getTransceivers()
        .filter((transceiver) => transceiver.receiver.track.kind === "video")
        .map((transceiver) => transceiver.sender),
    );
  }

  private link(peerId: string): Link {
    const pc = new RTCPeerConnection({ iceServers: this.iceServers });
    const link: Link = { pc, polite: this.selfId < peerId, makingOffer: false, ignoreOffer: false };
    this.links.set(peerId, link);
    for (const track of this.local.getTracks()) pc.addTrack(track, this.local);
    pc.onnegotiationneeded = async () => {
      try {
        link.makingOffer = true;
        await pc.setLocalDescription();
        this.signaling.send({ type: "offer", to: peerId, sdp: pc.localDescription?.sdp ?? "" });
      } finally {
        link.makingOffer = false;
      }
    };
    pc.onicecandidate = ({ candidate }) => {
      const frame = candidate
        ? { candidate: candidate.candidate, sdpMid: candidate.sdpMid, sdpMLineIndex: candidate.sdpMLineIndex }
        : null;
      this.signaling.send({ type: "ice", to: peerId, candidate: frame });
    };
    pc.oniceconnectionstatechange = () => {
      if (pc.iceConnectionState === "failed") pc.restartIce();
    };
    pc.ontrack = ({ streams, track }) => this.onRemoteStream(peerId, streams[0] ?? new MediaStream([track]));
    return link;
  }
}
