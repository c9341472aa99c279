#!/usr/bin/env bash
# Downloads datasets into datasets/ (or $AE_DATA_DIR) from their canonical sources and checks
# each file's SHA-256 (MD5 for CIFAR-10, whose publisher gives only that) before moving it into
# place (temp file, then rename). The same table is in crates/ae-data/src/fetch.rs.
# Usage: scripts/fetch-datasets.sh [mnist|fashion-mnist|satellite|cifar10|all]...
set -euo pipefail
root="${AE_DATA_DIR:-$(cd "$(dirname "$0")/.." && pwd)/datasets}"

fetch() { # dir url digest [sha256|md5]
  local dir="$root/$1" url="$2" sum="$3" algo="${4:-sha256}" name
  name="$(basename "$url")"
  mkdir -p "$dir"
  if [ -f "$dir/$name" ] && echo "$sum  $dir/$name" | "${algo}sum" -c --quiet - 2>/dev/null; then
    echo "ok       $1/$name"; return
  fi
  echo "fetching $url"
  local tmp="$dir/.$name.part"
  if ! curl -fL --retry 3 --progress-bar -o "$tmp" "$url"; then
    rm -f "$tmp"; echo "error: $url: download failed" >&2; exit 1
  fi
  if ! echo "$sum  $tmp" | "${algo}sum" -c --quiet -; then
    rm -f "$tmp"; echo "error: $url: $algo mismatch (expected $sum)" >&2; exit 1
  fi
  mv "$tmp" "$dir/$name"
  echo "ok       $1/$name"
}

unpack() { # dir archive folder-it-creates
  local dir="$root/$1" tmp="$root/$1/.$2.unpack"
  [ -d "$dir/$3" ] && { echo "ok       $1/$3"; return; }
  rm -rf "$tmp"; mkdir -p "$tmp"
  # --no-same-owner, no absolute names, no links: what ae-data's fetch also refuses.
  if tar -tzvf "$dir/$2" | grep -qE '^[lhbcp]' || tar -tzf "$dir/$2" | grep -qE '(^/|(^|/)\.\.(/|$))'; then
    rm -rf "$tmp"; echo "error: $dir/$2: unsafe archive entry (absolute path, .., link or device)" >&2; exit 1
  fi
  tar -xzf "$dir/$2" -C "$tmp" --no-same-owner
  mv "$tmp/$3" "$dir/$3" && rm -rf "$tmp"
  echo "ok       $1/$3"
}

mnist=https://ossci-datasets.s3.amazonaws.com/mnist
fashion=http://fashion-mnist.s3-website.eu-central-1.amazonaws.com
uci=https://archive.ics.uci.edu/ml/machine-learning-databases/statlog/satimage
cifar=https://www.cs.toronto.edu/~kriz
for what in "${@:-all}"; do
  case "$what" in
    mnist|all)
      fetch mnist $mnist/train-images-idx3-ubyte.gz 440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609
      fetch mnist $mnist/train-labels-idx1-ubyte.gz 3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c
      fetch mnist $mnist/t10k-images-idx3-ubyte.gz 8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6
      fetch mnist $mnist/t10k-labels-idx1-ubyte.gz f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6
      ;;&
    fashion-mnist|all)
      fetch fashion-mnist $fashion/train-images-idx3-ubyte.gz 3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84
      fetch fashion-mnist $fashion/train-labels-idx1-ubyte.gz a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845
      fetch fashion-mnist $fashion/t10k-images-idx3-ubyte.gz 346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073
      fetch fashion-mnist $fashion/t10k-labels-idx1-ubyte.gz 67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5
      ;;&
    satellite|all)
      fetch satimage $uci/sat.trn 6da888aa398f4dd56a85bb7114f7206896a360b7af1d790450f64dbdb8493fc5
      fetch satimage $uci/sat.tst 0045be0391420a35a69e8d2b0a4ff4b032a4aa03feebba0d89b9aa3e2d42c212
      ;;&
    cifar10|all)
      fetch cifar10 $cifar/cifar-10-binary.tar.gz c32a1d4ab5d03f1284b67883e8d87530 md5
      unpack cifar10 cifar-10-binary.tar.gz cifar-10-batches-bin
      ;;&
    mnist|fashion-mnist|satellite|cifar10|all) ;;
    *) echo "error: unknown dataset '$what' (mnist, fashion-mnist, satellite, cifar10, all)" >&2; exit 2 ;;
  esac
done
