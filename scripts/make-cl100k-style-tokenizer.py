"""Makes tests/fixtures/tokens/cl100k-style-tokenizer.json.gz: a small byte-level BPE with the
cl100k / Llama 3 / OLMo 2 pre-tokenizer (Split regex, Isolated, then ByteLevel without its
regex), trained on real web text, with special and added tokens (normalized and not), for the
fast BPE's exactness tests. Run with Python tokenizers 0.19.1 (dolma 1.2.1's):

    /work/venvs/venv-dolma/bin/python scripts/make-cl100k-style-tokenizer.py [WEB_DATA_DIR]
    gzip -9 -n cl100k-style-tokenizer.json && mv cl100k-style-tokenizer.json.gz tests/fixtures/tokens/
"""
import glob, gzip, json, sys
from tokenizers import Tokenizer, models, pre_tokenizers, trainers, Regex, AddedToken

PAT = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""

def texts():
    for f in sorted(glob.glob((sys.argv[1] if len(sys.argv) > 1 else "../shared/data/web") + "/*.jsonl.gz")):
        with gzip.open(f, "rt") as fh:
            for i, line in enumerate(fh):
                if i >= 150:
                    break
                t = json.loads(line).get("text")
                if isinstance(t, str):
                    yield t

tok = Tokenizer(models.BPE())
tok.pre_tokenizer = pre_tokenizers.Sequence([
    pre_tokenizers.Split(Regex(PAT), behavior="isolated", invert=False),
    pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
])
trainer = trainers.BpeTrainer(vocab_size=12000, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                              special_tokens=["<|endoftext|>", "<|pad|>"], show_progress=False)
tok.train_from_iterator(texts(), trainer)
tok.add_tokens([AddedToken("[MASKED]", normalized=True), AddedToken("xyzzy plugh", normalized=False)])
tok.save("cl100k-style-tokenizer.json")
print(tok.get_vocab_size())
