#!/usr/bin/env bash
# Records the terminal chat in a real terminal (tmux, 80x24) and prints each screen, as a new
# user sees it: the wrapped disclaimer, Tab completing mid-line, a long professional answer
# paged through less, the toolbar after it, /topics, /sources after a hand-off, the goodbye.
# It ends with two checks: no line filled to the last column (where a terminal breaks words)
# and the paged screen starting at the answer's first line.
#
#   bench/terminal_session.sh > docs/terminal-session.txt
#
# Needs tmux and less (apt-get install tmux less). Uses its own tmux server and a temporary
# state folder: the user's tmux sessions and chat history are not touched.
set -euo pipefail
cd "$(dirname "$0")/.."

COLS=80 ROWS=24
SOCKET="sarcoma-chat-session-$$"
STATE=$(mktemp -d)
SHOTS=$(mktemp -d)
T=(tmux -L "$SOCKET" -f /dev/null)
trap '"${T[@]}" kill-server 2>/dev/null || true; rm -rf "$STATE" "$SHOTS"' EXIT

command -v tmux >/dev/null || { echo "tmux is not installed (apt-get install tmux)" >&2; exit 1; }
[ -x .venv/bin/sarcoma-chat ] || { echo "no .venv: run make test or make chat first" >&2; exit 1; }

# The chat as a user starts it; PAGER and LESS unset so the default (less -RXF) is recorded.
"${T[@]}" new-session -d -s chat -x "$COLS" -y "$ROWS" \
    "env -u PAGER -u LESS TERM=xterm-256color SARCOMA_CHAT_STATE_DIR=$STATE .venv/bin/sarcoma-chat"
"${T[@]}" set-option -t chat remain-on-exit on >/dev/null

screen() { "${T[@]}" capture-pane -p -t chat; }

wait_for() {   # wait until the screen shows $1 (at most 60 s)
    for _ in $(seq 600); do
        if screen | grep -qF -- "$1"; then return 0; fi
        sleep 0.1
    done
    echo "timed out waiting for: $1" >&2
    screen >&2
    exit 1
}

n=0
shot() {       # print the screen under a heading and keep it for the checks
    n=$((n + 1))
    screen > "$SHOTS/$n.txt"
    printf '==== %d. %s ' "$n" "$1"
    printf '=%.0s' $(seq $((COLS - 8 - ${#1} - ${#n}))); echo
    cat "$SHOTS/$n.txt"
    echo
}

send() { "${T[@]}" send-keys -t chat "$@"; }

wait_for "you>"
shot "start: banner and disclaimer, wrapped at word boundaries"

send "tell me about radio" Tab
wait_for "you> tell me about radiotherapy"
shot "Tab completes a word in the middle of a sentence"
send C-u

send "/audience prof" Tab
wait_for "you> /audience professional"
send Enter
wait_for "Audience set to professional."
shot "Tab completes a command's argument"

QUESTION="what are targeted medicines?"
send "$QUESTION" Enter
wait_for "q: back to the chat"
shot "a 40-line professional answer opens in the pager at its first line"
send Space
wait_for "End of the answer"
shot "Space: the rest of the answer and its sources"
send q
wait_for "audience: professional"
shot "q: back to the chat, the toolbar whole"

send "/topics" Enter
wait_for "Malignant mesenchymoma:"
shot "/topics: grouped as the content groups them, no small talk"

send "can I talk to a nurse?" Enter
wait_for "talk to a person"
send "/sources" Enter
wait_for "drew on sources was about"
shot "/sources after a hand-off: the last answer that had sources"

send "/quit" Enter
wait_for "Thank you for talking with me"
shot "goodbye, wrapped at word boundaries"

# ---- checks ---------------------------------------------------------------------------------
echo "==== checks"
# A terminal breaks a word where a line runs into the last column: count such lines (the
# toolbar's row and less's status line are not text the chat wrapped), and check the paged
# screen starts at the answer's first line.
first=$(.venv/bin/sarcoma-chat ask --audience professional "$QUESTION")
.venv/bin/python - "$COLS" "$SHOTS" "${first:0:40}" <<'PY'
import pathlib, sys
cols, shots, first = int(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3]
skip = ("audience: ", "back to the chat", "End of the answer")
full = [line for shot in sorted(shots.glob("*.txt")) for line in shot.read_text(encoding="utf-8").splitlines()
        if len(line) >= cols and not any(s in line for s in skip)]
paged = (shots / "4.txt").read_text(encoding="utf-8").startswith(first)
print(f"lines running into column {cols} (a word could break there): {len(full)}")
print(f"paged screen starts with the answer's first line: {'yes' if paged else 'NO'}")
sys.exit(0 if paged and not full else 1)
PY
