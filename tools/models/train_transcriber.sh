#!/bin/bash
# Rebuild arpipe's bundled transcriber (data/models/ivr_en_ctc.pt) from real recorded speech in Debian packages.
#
#   tools/models/train_transcriber.sh            install the packages (apt-get) and train (seed 1234)
#   tools/models/train_transcriber.sh samples    only rebuild data/samples/speech_ivr_prompts.{wav,txt}
#   SEED=1234 tools/models/train_transcriber.sh  choose the seed (the committed model used 1234)
#
# Uses Debian's /usr/bin/python3 (python3-torch 1.13, python3-torchaudio 0.13), whatever python3 is first on
# PATH. The prompt texts are in the asterisk-core-sounds-<lang> packages (core-sounds-<lang>.txt.gz), the audio
# in asterisk-core-sounds-<lang>-wav. Intermediate files go to tools/models/.work/transcriber/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/../.."

PACKAGES=(python3-torch python3-torchaudio python3-numpy python3-soundfile sox libsox-fmt-base espeak-ng
  asterisk-core-sounds-en asterisk-core-sounds-en-wav asterisk-core-sounds-es asterisk-core-sounds-es-wav
  asterisk-core-sounds-fr asterisk-core-sounds-fr-wav asterisk-core-sounds-it asterisk-core-sounds-it-wav
  klettres-data pocketsphinx-testdata saytime)
# Only for --other-speakers (an experiment, not the committed model): more real English voices.
for arg in "$@"; do [ "$arg" = --other-speakers ] && PACKAGES+=(tuxpaint-stamps-default scid-data); done

# shellcheck source=install_packages.sh
source "$(dirname "${BASH_SOURCE[0]}")/install_packages.sh"
install_packages "${PACKAGES[@]}"

make_samples() {
  # Built only from prompts transcriber_data.py always holds out (SAMPLE_PROMPTS), 8 kHz mono 16-bit,
  # 0.6 s of silence between them. -D: no dither, so the samples are the recordings' own and the gaps digital
  # silence (sox dithers by default: +-1 LSB noise that changed with every run).
  local S=data/samples A=/usr/share/asterisk/sounds/en_US_f_Allison W=tools/models/.work/transcriber
  mkdir -p "$W"
  sox -D -n -r 8000 -c 1 -b 16 "$W/gap.wav" trim 0 0.6
  sox -D "$A/vm-enter-num-to-call.wav" "$W/gap.wav" "$A/digits/7.wav" "$W/gap.wav" \
      "$A/conf-invalidpin.wav" "$W/gap.wav" "$A/letters/q.wav" -b 16 "$S/speech_ivr_prompts.wav"
  /usr/bin/python3 tools/models/transcriber_reference.py --model data/models/ivr_en_ctc.pt "$S/speech_ivr_prompts.wav"
}

if [ "${1:-}" = samples ]; then
  make_samples
  exit 0
fi

time /usr/bin/python3 tools/models/train_transcriber.py --seed "${SEED:-1234}" "$@"
