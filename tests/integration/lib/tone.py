"""Tones for media tests: a sine cut into 20 ms frames, encoded and decoded
as a legacy phone would (G.711 with audioop; G.722 and GSM with FFmpeg's
codecs through PyAV, which python3-aiortc already brings), and a check of
what arrived by frequency and level, in pure Python (Goertzel filters)."""

import array
import math
import warnings

warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
import audioop  # noqa: E402

import av  # noqa: E402

FRAME_SECONDS = 0.02


class Codec:
    """A legacy codec as the tests use it: its static payload type, the
    rtpmap name and clock, and the rate of its audio."""

    def __init__(self, name, pt, audio_rate):
        self.name, self.pt, self.audio_rate = name, pt, audio_rate
        self.rtp_clock = 8000  # G.722's too (RFC 3551)

    @property
    def rtpmap(self):
        return f"{self.name}/{self.rtp_clock}"

    @property
    def frame_samples(self):
        return int(self.audio_rate * FRAME_SECONDS)

    def __repr__(self):
        return self.name


PCMA = Codec("PCMA", 8, 8000)
PCMU = Codec("PCMU", 0, 8000)
G722 = Codec("G722", 9, 16000)
GSM = Codec("GSM", 3, 8000)
STATIC = {c.pt: c.name for c in (PCMA, PCMU, G722, GSM)}


class Tone:
    """A sine of `freq` Hz whose peak is `peak_dbfs` below full scale."""

    def __init__(self, freq, peak_dbfs):
        self.freq, self.peak_dbfs = freq, peak_dbfs
        self.amplitude = 32767 * 10 ** (peak_dbfs / 20)

    @property
    def rms_dbfs(self):
        return self.peak_dbfs - 10 * math.log10(2)

    def samples(self, rate, start, count):
        """s16 samples start..start+count-1 at `rate`: frames cut from one
        sine join without a click."""
        w = 2 * math.pi * self.freq / rate
        return array.array("h", (round(self.amplitude * math.sin(w * i))
                                 for i in range(start, start + count))).tobytes()

    def frame(self, k, rate=8000):
        """The 20 ms frame k."""
        n = int(rate * FRAME_SECONDS)
        return self.samples(rate, k * n, n)

    def __repr__(self):
        return f"{self.freq} Hz at {self.peak_dbfs} dBFS"


# ------------------------------------------------------------ codecs

def _av_frames(pcm, rate, n):
    for k in range(len(pcm) // (2 * n)):
        frame = av.AudioFrame(format="s16", layout="mono", samples=n)
        frame.planes[0].update(pcm[k * 2 * n:(k + 1) * 2 * n])
        frame.sample_rate = rate
        frame.pts = k * n
        yield frame


def encode(codec, pcm):
    """The RTP payloads (one per 20 ms) of mono s16 `pcm` at the codec's
    audio rate."""
    n = codec.frame_samples
    if codec is PCMA or codec is PCMU:
        law = audioop.lin2alaw if codec is PCMA else audioop.lin2ulaw
        return [law(pcm[i:i + 2 * n], 2) for i in range(0, len(pcm) - 2 * n + 1, 2 * n)]
    ctx = av.CodecContext.create({G722: "g722", GSM: "libgsm"}[codec], "w")
    ctx.sample_rate, ctx.format, ctx.layout = codec.audio_rate, "s16", "mono"
    # G.722 is a stream of samples: its 20 ms are 160 bytes wherever they are cut.
    out = b"".join(bytes(p) for f in _av_frames(pcm, codec.audio_rate, n) for p in ctx.encode(f))
    out += b"".join(bytes(p) for p in ctx.encode(None))
    size = 33 if codec is GSM else n // 2
    return [out[i:i + size] for i in range(0, len(out) - size + 1, size)]


def decode(codec, payloads):
    """Mono s16 samples at the codec's audio rate of RTP payloads in order."""
    if codec is PCMA or codec is PCMU:
        law = audioop.alaw2lin if codec is PCMA else audioop.ulaw2lin
        return b"".join(law(p, 2) for p in payloads)
    # FFmpeg's own GSM decoder: not libgsm, which GStreamer's gsmenc uses.
    ctx = av.CodecContext.create({G722: "g722", GSM: "gsm"}[codec], "r")
    ctx.sample_rate = codec.audio_rate
    pcm = array.array("h")
    for payload in payloads:
        chunks = [payload[i:i + 33] for i in range(0, len(payload), 33)] if codec is GSM else [payload]
        for chunk in chunks:
            for frame in ctx.decode(av.Packet(chunk)):
                pcm.extend(array.array("h", bytes(frame.planes[0])[:frame.samples * 2]))
    return pcm.tobytes()


def in_sequence(packets):
    """The payloads of RTP packets (rtp_peer.Rtp) in sequence-number order,
    each once."""
    if not packets:
        return []
    first = packets[0].seq
    by_seq = {}
    for p in packets:
        by_seq.setdefault((p.seq - first + 0x8000) & 0xFFFF, p.payload)
    return [by_seq[k] for k in sorted(by_seq)]


# ------------------------------------------------------------ analysis

def _power(x, rate, freq):
    """Goertzel: the power of the (windowed) samples `x` at `freq`."""
    coeff = 2 * math.cos(2 * math.pi * freq / rate)
    s1 = s2 = 0.0
    for v in x:
        s1, s2 = v + coeff * s1 - s2, s1
    return s1 * s1 + s2 * s2 - coeff * s1 * s2


def _zero_crossing_freq(x, rate, rms):
    """The frequency from the rising zero crossings, interpolated; a
    crossing counts only once the signal has been below -rms/2 since the
    last one, so that a little noise near zero adds none."""
    crossings = []
    armed = False
    for i in range(1, len(x)):
        if x[i] < -rms / 2:
            armed = True
        elif armed and x[i - 1] < 0 <= x[i]:
            crossings.append(i - 1 + x[i - 1] / (x[i - 1] - x[i]))
            armed = False
    if len(crossings) < 2:
        return 0.0
    return (len(crossings) - 1) * rate / (crossings[-1] - crossings[0])


class Analysis:
    """What a stretch of audio is: its dominant frequency (zero crossings),
    its RMS level (dBFS), and how far the power at the expected frequency
    `freq` stands above that at its neighbours (dB). A second of audio
    makes filters 1 Hz narrow: the power is taken at the frequency found
    when it is within `tolerance` of `freq`, lest a tone a few Hz off
    (still the right tone) fall between them."""

    NEIGHBOURS = (0.5, 0.7, 0.85, 1.15, 1.3, 1.5, 2.0, 3.0)

    def __init__(self, pcm, rate, freq, tolerance=0.03):
        x = array.array("h", pcm)
        self.seconds = len(x) / rate if rate else 0.0
        mean_square = sum(v * v for v in x) / len(x) if x else 0.0
        self.dbfs = 10 * math.log10(mean_square / 32768 ** 2) if mean_square else -math.inf
        # Zero crossings counted at 8 kHz (means of consecutive samples):
        # noise above 4 kHz adds none.
        step = max(1, rate // 8000)
        low = [sum(x[i:i + step]) / step for i in range(0, len(x) - step + 1, step)]
        self.freq = _zero_crossing_freq(low, rate / step, math.sqrt(mean_square)) if x else 0.0
        if abs(self.freq - freq) <= tolerance * freq:
            freq = self.freq
        n = len(x)
        hann = [v * (0.5 - 0.5 * math.cos(2 * math.pi * i / n)) for i, v in enumerate(x)]
        at = _power(hann, rate, freq) if x else 0.0
        around = [_power(hann, rate, freq * m) for m in self.NEIGHBOURS if freq * m < rate / 2 - 100]
        loudest = max(around, default=0.0)
        if at > 0 and loudest > 0:
            ratio_db = 10 * math.log10(at / loudest)
        else:
            ratio_db = 99.0 if at > 0 else -99.0
        self.dominance_db = max(-99.0, min(99.0, ratio_db))  # a pure tone's neighbours are ~0

    def __repr__(self):
        return (f"{self.seconds:.2f} s, {self.freq:.1f} Hz by zero crossings, {self.dbfs:.1f} dBFS RMS, "
                f"{self.dominance_db:.1f} dB above its neighbours")


def onset(pcm, rate, threshold_dbfs=-50):
    """The index (in samples) of the first 10 ms louder than `threshold_dbfs`."""
    x = array.array("h", pcm)
    n = max(1, rate // 100)
    limit = (32768 * 10 ** (threshold_dbfs / 20)) ** 2
    for start in range(0, len(x) - n + 1, n):
        if sum(v * v for v in x[start:start + n]) / n > limit:
            return start
    return len(x)


def mismatch(pcm, rate, tone, skip=0.2, seconds=1.0, freq_tolerance=0.03, level_tolerance_db=4.0,
             dominance_db=20.0):
    """None when mono s16 `pcm` at `rate` carries `tone`; else what is wrong.
    Looks at `seconds` of audio from `skip` seconds after it starts (its
    first sound: a stream may open with silence before the first packet is
    decoded): the frequency within `freq_tolerance`, the RMS level within
    `level_tolerance_db` of the tone's, and the tone `dominance_db` above
    its neighbours."""
    if not rate:
        return "no audio at all"
    start = onset(pcm, rate) + int(skip * rate)
    stretch = pcm[2 * start:2 * (start + int(seconds * rate))]
    if len(stretch) < 2 * int(seconds * rate):
        return (f"too little audio: {len(pcm) / 2 / rate:.2f} s in all, sound from "
                f"{onset(pcm, rate) / rate:.2f} s; {seconds + skip:.2f} s of sound wanted")
    got = Analysis(stretch, rate, tone.freq, freq_tolerance)
    problems = []
    if abs(got.freq - tone.freq) > freq_tolerance * tone.freq:
        problems.append(f"frequency {got.freq:.1f} Hz, not {tone.freq} Hz")
    if abs(got.dbfs - tone.rms_dbfs) > level_tolerance_db:
        problems.append(f"level {got.dbfs:.1f} dBFS, not {tone.rms_dbfs:.1f} dBFS")
    if not got.dominance_db > dominance_db:
        problems.append(f"{tone.freq} Hz only {got.dominance_db:.1f} dB above its neighbours")
    return f"{'; '.join(problems)} ({got})" if problems else None
