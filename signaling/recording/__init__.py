"""Server-side consult recording: an aiortc peer that writes crash-safe per-track files (`recorder`),
the mux step (`mux`) and the live HLS rendition (`live`)."""
