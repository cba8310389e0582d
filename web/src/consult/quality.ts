// Network quality of one connection from getStats(): round-trip time, receive-side packet loss and bitrate
// since the previous sample. The thresholds are those of a usable video consult over a county network.

import type { QualityLevel } from "./protocol";

export interface NetworkSample {
  rtt_ms: number;
  loss: number;
  bitrate_kbps: number;
}

interface Counters {
  bytes: number;
  received: number;
  lost: number;
  at: number;
}

export function qualityLevel({ rtt_ms, loss }: NetworkSample): QualityLevel {
  if (rtt_ms < 250 && loss < 0.02) return "good";
  if (rtt_ms < 500 && loss < 0.08) return "fair";
  return "poor";
}

/** Keeps the previous counters of each connection so loss and bitrate are over the last interval. */
export class StatsSampler {
  private readonly previous = new WeakMap<RTCPeerConnection, Counters>();

  async sample(pc: RTCPeerConnection): Promise<NetworkSample | null> {
    const report = await pc.getStats();
    let rtt: number | null = null;
    const now: Counters = { bytes: 0, received: 0, lost: 0, at: performance.now() };
    report.forEach((stat: Record<string, unknown>) => {
      if (stat.type === "candidate-pair" && stat.nominated && typeof stat.currentRoundTripTime === "number")
        rtt = stat.currentRoundTripTime * 1000;
      if (stat.type === "inbound-rtp") {
        now.bytes += Number(stat.bytesReceived ?? 0);
        now.received += Number(stat.packetsReceived ?? 0);
        now.lost += Math.max(0, Number(stat.packetsLost ?? 0));
      }
    });
    const before = this.previous.get(pc);
    this.previous.set(pc, now);
    if (rtt === null || !before) return null;
    const received = now.received - before.received;
    const lost = now.lost - before.lost;
    const seconds = (now.at - before.at) / 1000;
    return {
      rtt_ms: Math.round(rtt),
      loss: received + lost > 0 ? Math.max(0, lost) / (received + lost) : 0,
      bitrate_kbps: seconds > 0 ? Math.round(((now.bytes - before.bytes) * 8) / 1000 / seconds) : 0,
    };
  }
}

/** The worst of several connections' samples: what this participant actually experiences. */
export function worstSample(samples: NetworkSample[]): NetworkSample | null {
  if (!samples.length) return null;
  return {
    rtt_ms: Math.max(...samples.map((s) => s.rtt_ms)),
    loss: Math.max(...samples.map((s) => s.loss)),
    bitrate_kbps: Math.min(...samples.map((s) => s.bitrate_kbps)),
  };
}
