#!/bin/bash
# Rebuild arpipe's default tagger (data/models/tagger.pt) from real recordings in Debian packages.
#
#   tools/models/train_tagger.sh            install the data packages (apt-get) and train (10.5 min on 2 idle cores, data preparation included)
#   tools/models/train_tagger.sh samples    only rebuild data/samples/* (held-out recordings, cut with sox)
#   SEED=1234 tools/models/train_tagger.sh  choose the seed (the committed model used 1234)
#
# Uses Debian's /usr/bin/python3 (python3-torch 1.13, python3-torchaudio 0.13), whatever python3 is first on
# PATH. Intermediate files go to tools/models/.work/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/../.."

PACKAGES=(python3-torch python3-torchaudio python3-numpy sox libsox-fmt-base unzip
  pocketsphinx-testdata asterisk-core-sounds-en-wav asterisk-core-sounds-es-wav asterisk-core-sounds-fr-wav
  asterisk-moh-opsound-wav sonic-pi-samples sound-theme-freedesktop alsa-utils oxygen-sounds
  deepin-sound-theme yaru-theme-sound lomiri-sounds ufoai-sound singularity-music klettres-data ktuberling-data)

# shellcheck source=install_packages.sh
source "$(dirname "${BASH_SOURCE[0]}")/install_packages.sh"
install_packages "${PACKAGES[@]}"

WORK=tools/models/.work
mkdir -p "$WORK"

make_samples() {
  # Every sample is cut from a recording that train_tagger.py holds out of training (PINNED_EVAL).
  local S=data/samples AST=/usr/share/asterisk
  mkdir -p "$S"
  # speech, 16 kHz mono FLAC: LibriVox read speech (pocketsphinx-testdata)
  sox /usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0930.wav \
      -C 8 "$S/speech_librivox.flac"
  # music, 44.1 kHz stereo Ogg/Vorbis: 10 s of "Awakening" by Max McCracken (singularity-music)
  sox "/usr/share/games/singularity/music/Awakening.ogg" -C 3 "$S/music_singularity.ogg" \
      trim 60 10 rate -v 44100 fade 0.05 10 0.3
  # alert, 48 kHz stereo Ogg/Vorbis: the freedesktop alarm clock, unchanged
  cp /usr/share/sounds/freedesktop/stereo/alarm-clock-elapsed.oga "$S/alert_alarm_clock.ogg"
  # noise, 16 kHz mono 16-bit WAV: a water fountain (ufoai-sound ambience)
  unzip -o -q -d "$WORK/ufoai" /usr/share/games/ufoai/base/0snd.pk3 sound/ambience/waterfontain.ogg
  sox "$WORK/ufoai/sound/ambience/waterfontain.ogg" -b 16 "$S/noise_water_fountain.wav" \
      remix - trim 2 8 rate -v 16000
  # two classes in sequence, 8 kHz mono WAV: 6 s of hold music, then two French voicemail prompts
  sox "$AST/moh/manolo_camp-morning_coffee.wav" "$WORK/moh_part.wav" trim 20 6 fade 0 6 0.2
  sox "$WORK/moh_part.wav" "$AST/sounds/fr_CA_f_June/conf-getpin.wav" "$AST/sounds/fr_CA_f_June/vm-intro.wav" \
      -b 16 "$S/music_then_speech_8k.wav"
  ls -l "$S"
}

if [ "${1:-}" = samples ]; then
  make_samples
  exit 0
fi

time /usr/bin/python3 tools/models/train_tagger.py --seed "${SEED:-1234}" "$@"
