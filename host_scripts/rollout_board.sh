#!/bin/sh
# rollout_board.sh ACTION ENV [UNIT [WORD BY]]
# The board beside an environment's deploy lock (~/.flotilla/locks/ENV):
# a rollout that holds the lock and waits on people (an analysis paused on
# no data, a watch after the last batch) posts what it waits for, and any
# controller leaves a decision there. Releasing the lock clears it.
#   post ENV UNIT STATE     the holder: UNIT's rollout is STATE (paused or
#                           watching); any older decision is dropped
#   read ENV                the holder: prints the decision left ("WORD BY")
#   clear ENV               the holder: nothing waits any more
#   decide ENV UNIT WORD BY anyone: resume or abort (a paused rollout) or
#                           end-watch (a watch); EXIT_NOT_WAITING when UNIT's
#                           rollout does not wait for it
#   show ENV                anyone: "STATE UNIT" of what waits, if anything
# shellcheck source=lib.sh
. "${0%/*}/lib.sh"
[ $# -ge 2 ] || die "$EXIT_USAGE" "usage: rollout_board.sh ACTION ENV [UNIT [WORD BY]]"
lock="$HOME/.flotilla/locks/$2"
case $1 in
  post)
    [ $# -eq 4 ] || die "$EXIT_USAGE" "usage: rollout_board.sh post ENV UNIT STATE"
    [ -d "$lock" ] || die "$EXIT_NOT_HOLDER" "the deploy lock of $2 is not held"
    rm -f "$lock/decision"
    printf '%s %s\n' "$4" "$3" >"$lock/waiting.next" && mv "$lock/waiting.next" "$lock/waiting"
    ;;
  read)
    [ -f "$lock/decision" ] || exit 0
    cat "$lock/decision"
    ;;
  clear)
    rm -f "$lock/waiting" "$lock/decision"
    ;;
  decide)
    [ $# -eq 5 ] || die "$EXIT_USAGE" "usage: rollout_board.sh decide ENV UNIT WORD BY"
    case $4 in
      resume | abort) wanted=paused ;;
      end-watch) wanted=watching ;;
      *) die "$EXIT_USAGE" "unknown decision: $4" ;;
    esac
    waiting=''
    { read -r waiting <"$lock/waiting"; } 2>/dev/null
    [ "$waiting" = "$wanted $3" ] || die "$EXIT_NOT_WAITING" "${waiting:-nothing}"
    printf '%s %s\n' "$4" "$5" >"$lock/decision.next" && mv "$lock/decision.next" "$lock/decision"
    ;;
  show)
    [ -f "$lock/waiting" ] || exit 0
    cat "$lock/waiting"
    ;;
  *) die "$EXIT_USAGE" "unknown action: $1" ;;
esac
