"""The speech task's ``-o`` options (listed by ``seqframe tasks speech``)."""

from __future__ import annotations

from seqframe.task import TaskOption

from .features import KINDS

OPTIONS = (
    TaskOption("mode", str, "words", "words: one label per recording (classification); ctc: "
               "connected utterances of several words, labelled by CTC.", ("words", "ctc")),
    TaskOption("features", str, "mfcc", "static features: 13 MFCCs or n_mels log-mel energies "
               "(each with deltas and delta-deltas unless -o deltas=false).", KINDS),
    TaskOption("n_mels", int, 40, "mel filters of the filterbank (M)."),
    TaskOption("n_mfcc", int, 13, "cepstral coefficients kept (C, including c0)."),
    TaskOption("deltas", bool, True, "append deltas and delta-deltas (3 x the static size)."),
    TaskOption("frame_ms", float, 25.0, "analysis frame length (ms)."),
    TaskOption("hop_ms", float, 10.0, "hop between frames (ms): one model step per hop (20 halves "
               "the steps of 10, and the time a step costs)."),
    TaskOption("sample_rate", int, 8000, "the rate every recording is analysed at (Hz)."),
    TaskOption("resample", bool, True, "resample recordings at another rate (false: an error "
               "naming the file)."),
    TaskOption("labels", str, "digits", "the label set: 'digits' (zero..nine) or a "
               "comma-separated list of words; every transcript must be one of them."),
    TaskOption("test_speakers", str, None, "comma-separated speakers whose recordings are the "
               "whole test set; training uses the other speakers only (default: FSDD's official "
               "split, takes 0-4 test)."),
    TaskOption("test_fraction", float, 0.1, "manifest data without test_speakers: share of "
               "each label's rows held out for testing (seeded by split_seed)."),
    TaskOption("val_fraction", float, 0.1, "share of each label's training recordings held out "
               "for validation / early stopping."),
    TaskOption("split_seed", int, 0, "seed of the validation (and manifest test) split."),
    TaskOption("readout", str, "mean", "words mode: the mean over valid frames or the last "
               "valid frame.", ("mean", "last")),
    TaskOption("time_masks", int, 0, "SpecAugment on training batches: time masks per "
               "utterance (0 = off)."),
    TaskOption("time_mask_width", int, 10, "widest time mask, frames."),
    TaskOption("freq_masks", int, 0, "SpecAugment on training batches: frequency masks per "
               "utterance (0 = off)."),
    TaskOption("freq_mask_width", int, 4, "widest frequency mask, coefficients of the static "
               "block (masked in its delta blocks too)."),
    TaskOption("baselines", bool, True, "words mode: score the majority / nearest-centroid / "
               "1-NN baselines."),
    TaskOption("decoder", str, "beam", "ctc mode: the decoder behind 'wer' and 'cer' and "
               "transcripts.", ("greedy", "beam")),
    TaskOption("beam_width", int, 8, "ctc mode: prefixes kept by the beam search."),
    TaskOption("ctc_train", int, 2000, "ctc mode: training utterances generated."),
    TaskOption("ctc_eval", int, 300, "ctc mode: validation and test utterances generated "
               "(each)."),
    TaskOption("ctc_min_words", int, 1, "ctc mode: fewest words per utterance."),
    TaskOption("ctc_max_words", int, 7, "ctc mode: most words per utterance."),
    TaskOption("ctc_pause_min_ms", float, 50.0, "ctc mode: shortest pause around words (ms)."),
    TaskOption("ctc_pause_max_ms", float, 250.0, "ctc mode: longest pause around words (ms)."),
    TaskOption("ctc_noise", float, 0.003, "ctc mode: standard deviation of the added white "
               "noise (full scale 1)."),
    TaskOption("ctc_seed", int, 0, "ctc mode: seed of the generated utterances."),
)
