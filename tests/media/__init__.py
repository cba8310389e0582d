"""WebRTC consults, signalling rooms, recording, live HLS broadcast and TURN, with real aiortc peers, coturn and signalling server processes."""
