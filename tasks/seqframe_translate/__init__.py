"""Machine translation: parallel text, tokenizers, vocabularies, BLEU/chrF, baselines."""
