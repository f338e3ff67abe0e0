#!/usr/bin/env bash
# Regenerates tests/fixtures/tagger-secrets/ (issue 15's `code_secrets_v1`) from dolma 1.2.1
# with detect-secrets 1.4.0 (dolma's `code` extra):
#   documents/code.jsonl.gz  — real source and config files: every k-th small file of the
#                              installed Python packages (.py, .cfg, .ini, .json, .yml, .js, …)
#   documents/edge.jsonl.gz  — seeded generated lines: every detector's token shapes, the
#                              keyword detector's assignment forms, the filters' cases
#                              (allowlist pragmas, indirect references, ids, templates,
#                              sequences, UUIDs), line breaks Python splits on, non-ASCII
#   expected/code_secrets_v1/<file> — what dolma 1.2.1's `dolma tag` writes for them
#
#   scripts/make-secrets-goldens.sh            # documents + goldens
#   SKIP_SAMPLE=1 scripts/make-secrets-goldens.sh   # keep the documents, redo goldens
#
# Environment: DOLMA_VENV (default /work/venvs/venv-dolma; `pip install "dolma[code]==1.2.1"
# boto3==1.28.17`, see ../shared/notes/services.md).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${DOLMA_VENV:-/work/venvs/venv-dolma}"
FIX="$REPO/tests/fixtures/tagger-secrets"
[ -x "$VENV/bin/dolma" ] || { echo "no dolma in $VENV (set DOLMA_VENV)" >&2; exit 2; }
"$VENV/bin/python" - <<'PY'
import importlib.metadata as m
assert m.version("dolma") == "1.2.1", m.version("dolma")
assert m.version("detect-secrets") == "1.4.0", m.version("detect-secrets")
PY

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/nltk/tokenizers/punkt"
export NLTK_DATA="$WORK/nltk" HF_HUB_OFFLINE=1

mkdir -p "$FIX/documents"
if [ -z "${SKIP_SAMPLE:-}" ]; then
  "$VENV/bin/python" - "$FIX" <<'PY'
import base64, gzip, json, os, random, site, string, sys
fix = sys.argv[1]

def write(name, docs):
    with gzip.GzipFile(f"{fix}/documents/{name}", "wb", mtime=0) as f:
        for d in docs:
            f.write((json.dumps(d, ensure_ascii=False) + "\n").encode("utf-8"))
    print(f"{name}: {len(docs)} documents")

# Real files: sorted, every k-th, 200 B .. 24 KB, UTF-8 only.
root = site.getsitepackages()[0]
exts = (".py", ".cfg", ".ini", ".json", ".yml", ".yaml", ".js", ".toml", ".txt", ".sh", ".md")
paths = []
for d, dirs, files in os.walk(root):
    dirs.sort()
    for f in sorted(files):
        p = os.path.join(d, f)
        if f.endswith(exts) and 200 <= os.path.getsize(p) <= 24000:
            paths.append(p)
code = []
for p in paths[::23]:
    try:
        with open(p, encoding="utf-8") as f:
            text = f.read()
    except UnicodeDecodeError:
        continue
    code.append({"id": "code/" + os.path.relpath(p, root), "text": text, "source": "code"})
# detect-secrets' own plugins: their comments and tests name secrets.
ds = os.path.join(root, "detect_secrets", "plugins")
for f in sorted(os.listdir(ds)):
    if f.endswith(".py"):
        with open(os.path.join(ds, f), encoding="utf-8") as h:
            code.append({"id": f"code/detect_secrets/plugins/{f}", "text": h.read(), "source": "code"})
write("code.jsonl.gz", code)

rng = random.Random(20261205)
A, D, L, U = string.ascii_letters, string.digits, string.ascii_lowercase, string.ascii_uppercase
def r(chars, n): return "".join(rng.choice(chars) for _ in range(n))
def b64(n): return r(A + D + "+/", n)
def jwt(valid=True):
    h = base64.urlsafe_b64encode(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()).decode().rstrip("=")
    p = base64.urlsafe_b64encode(json.dumps({"sub": r(D, 6), "n": rng.random()}).encode()).decode().rstrip("=")
    if not valid:
        p = p[:-1] + "%" if rng.random() < .5 else "eyJ" + r(A, 9)
    return f"{h}.{p}.{r(A + D + '-_', 43)}"
tokens = [
    lambda: "AKIA" + r(U + D, 16),
    lambda: f'aws_secret_access_key = "{b64(40)}"',
    lambda: f'AWS token: \'{b64(40)}\'',
    lambda: "AccountKey=" + r(A + D + "+/=", 88),
    lambda: f"https://{r(L, 5)}:{r(A + D, 9)}@example.com/x",
    lambda: f"mysql://root:{r(A + D + '_', 12)}@db:3306",
    lambda: f"cloudant_password='{r('0123456789abcdef', 64)}'",
    lambda: f"cl_api_key: {r(L, 24)}",
    lambda: f"https://{r(L, 6)}:{r(L, 24)}@{r(L, 6)}.cloudant.com",
    lambda: rng.choice("MN") + r(A + D + "_-", 23) + "." + r(A + D, 6) + "." + r(A + D + "_-", 27),
    lambda: rng.choice(["ghp", "gho", "ghu", "ghs", "ghr"]) + "_" + r(A + D, 36),
    lambda: f"ibm_cloud_iam_api_key = '{r(A + D + '_-', 44)}'",
    lambda: f"cos_hmac_secret_access_key: {r('0123456789abcdef', 48)}",
    lambda: jwt(True),
    lambda: jwt(False),
    lambda: r(L + D, 32) + "-us" + r(D, 2),
    lambda: f"//registry.npmjs.org/:_authToken=npm_{r(A + D, 36)}",
    lambda: f"//npm.example.com/:_authToken= {r('0123456789abcdef-', 36)}",
    lambda: "-----" + rng.choice(["BEGIN RSA PRIVATE KEY", "BEGIN OPENSSH PRIVATE KEY", "BEGIN EC PRIVATE KEY", "BEGIN PRIVATE KEY", "BEGIN PGP PRIVATE KEY BLOCK"]) + "-----",
    lambda: "PuTTY-User-Key-File-2: ssh-rsa",
    lambda: "SG." + r(A + D + "_-", 22) + "." + r(A + D + "_-", 43),
    lambda: f"xoxb-{r(D, 11)}-{r(D, 12)}-{r(L + D, 24)}",
    lambda: f"https://hooks.slack.com/services/T{r(U + D, 8)}/B{r(U + D, 8)}/{r(A + D, 24)}",
    lambda: f"softlayer_api_key = {r(L + D, 64)}",
    lambda: f"https://api.softlayer.com/soap/v3/{r(L + D, 64)}",
    lambda: "sq0csp-" + r(A + D + "-_", 43),
    lambda: rng.choice("rs") + "k_live_" + r(A + D, 24),
    lambda: "AC" + r(L + D, 32),
    lambda: "SK" + r(L + D, 32),
    lambda: f" AKC{r(A + D, 12)} ",
    lambda: f'"AP{rng.choice("0123456789ABCDEF")}{r(A + D, 10)}"',
]
keywords = ["password", "api_key", "apikey", "secret", "db_pass", "private_key", "Contraseña",
            "contrasena", "PASSWD", "pwd", "client_key", "my_password_secure", "auth-key",
            "SECRET_KEY", "passwİrd", "servıce_key", "key_pass"]
def value():
    k = rng.randrange(12)
    if k == 0: return b64(rng.randrange(8, 48))
    if k == 1: return r("0123456789abcdef", rng.randrange(8, 48))
    if k == 2: return r(D, rng.randrange(6, 30))
    if k == 3: return "${" + r(U, 6) + "}"
    if k == 4: return "<" + r(L, 6) + ">"
    if k == 5: return "$" + r(A, 8)
    if k == 6: return "{{ " + r(L, 5) + " }}"
    if k == 7: return "%08x-%04x-%04x-%04x-%012x" % tuple(rng.getrandbits(b) for b in (32, 16, 16, 16, 48))
    if k == 8: return rng.choice(["abcdefgh", "ABCDEFGHIJKL", "0123456789", "1234567890abcdef", "********"])
    if k == 9: return r(A, 5) + " " + r(A, 4) + rng.choice(["", ",", ";", " # note", "'"])
    if k == 10: return b64(rng.randrange(20, 60)) + rng.choice(["=", "==", ""])
    return "ünï" + r(A + D, 10)
def assignment():
    kw = rng.choice(keywords)
    q = rng.choice(["", "'", '"', "`"])
    op = rng.choice([": ", ":", " = ", "=", " == ", " := ", " => ", " != ", " === ", "("])
    pre = rng.choice(["", "", "  ", "self.", "user_id = 1; ", "id: x ", "- ", "[", "export "])
    closing = rng.choice(["", "", "]", '"', "'"])
    v = value()
    line = f"{pre}{kw}{closing}{op}{q}{v}{q}" + rng.choice(["", "", ";", ",", "  ", ")"])
    if rng.random() < .15:
        line = f"{q or chr(34)}{v}{q or chr(34)} {rng.choice(['==', '!=', '==='])} {rng.choice(['my_', ''])}{kw}"
    return line
def entropy_line():
    q = rng.choice(["'", '"'])
    v = rng.choice([b64(rng.randrange(10, 60)), r("0123456789abcdefABCDEF", rng.randrange(10, 60)), r(D, rng.randrange(10, 40))])
    pre = rng.choice(["x = ", "id = ", "user_id: ", "token=", "", "call(", "value: "])
    return f"{pre}{q}{v}{q}" + rng.choice(["", ",", " # pragma: allowlist secret", "  "])
def odd():
    # Lines past is_indirect_reference's 1,000 characters, Python-only whitespace (U+001F),
    # both quote kinds, backslashes in Base64's charset, a keyword inside a longer word.
    return rng.choice([
        "x = f(" + "a" * rng.randrange(990, 1010) + f") password: {b64(12)}",
        f"password:\x1f{b64(14)}",
        f"token = \"{b64(30)}' + '{b64(30)}\"",
        f"path = '{r(A + D, 20)}\\{r(A + D, 20)}'",
        f"mypasswordfile: {r(A, 10)}",
        f"const x = \"{b64(24)}\"; // pragma: whitelist secret",
        f"/* pragma: allowlist secret */ password = \"{b64(16)}\"",
        f"api_key: \"{r(A, 6)}\" and secret: '{r(A, 8)}'",
        f"Authorization: Bearer {jwt(True)}",
    ])
def filler():
    return rng.choice(["", "# comment", "def f(x):", "    return x", "x = compute(y)", "key = os.environ['KEY']",
                       "items: [a, b]", "  - name: test", "SELECT * FROM t;", "<!-- pragma: allowlist nextline secret -->",
                       "// pragma: allowlist nextline secret", "İstanbul ſ K", "\t", "   "])
breaks = ["\n"] * 12 + ["\r\n", "\r", "\u2028", "\x0b", "\x0c", "\x85", "\x1c"]
edge = []
for i in range(1200):
    lines = []
    for _ in range(rng.randrange(1, 9)):
        k = rng.random()
        if k < .30: lines.append(assignment())
        elif k < .55: lines.append(rng.choice(tokens)())
        elif k < .70: lines.append(entropy_line())
        elif k < .76: lines.append(odd())
        else: lines.append(filler())
        if rng.random() < .08 and lines:  # a repeated line: one secret per value and type
            lines.append(lines[-1])
    text = "".join(l + rng.choice(breaks) for l in lines)
    if rng.random() < .3:
        text = text.rstrip("\n")
    edge.append({"id": f"edge/{i}", "text": text, "source": "edge"})
edge.append({"id": "edge/empty", "text": "", "source": "edge"})
edge.append({"id": "edge/spaces", "text": "  \n\t ", "source": "edge"})
write("edge.jsonl.gz", edge)
PY
fi

mkdir -p "$WORK/documents"
cp "$FIX"/documents/*.jsonl.gz "$WORK/documents/"
cat > "$WORK/tag.yaml" <<YAML
documents: ["$WORK/documents/*.jsonl.gz"]
taggers: [code_secrets_v1]
processes: 1
YAML
"$VENV/bin/dolma" -c "$WORK/tag.yaml" tag
rm -rf "$FIX/expected"
mkdir -p "$FIX/expected/code_secrets_v1"
cp "$WORK/attributes/code_secrets_v1/"*.jsonl.gz "$FIX/expected/code_secrets_v1/"
echo "goldens written to $FIX/expected"
