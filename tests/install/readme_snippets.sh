#!/usr/bin/env bash
# Compiles every ```cpp block of README.md against the build tree, and runs the result: blocks
# that hold a main() are programs of their own; the others are read in order as one program's
# body (later blocks use what earlier ones declared, as a reader would), inside main().
#   usage: readme_snippets.sh SOURCE_DIR BUILD_DIR [COMPILER COMMAND...]
set -euo pipefail
src=$(cd "$1" && pwd)
build=$(cd "$2" && pwd)
if [ "$#" -gt 2 ]; then cxx=("${@:3}"); else cxx=("${CXX:-c++}"); fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# One file per block, its indentation (a block inside a list item) removed.
awk -v dir="$tmp" '
  /^[ ]*```cpp[ ]*$/ { n++; inside = 1; match($0, /^[ ]*/); indent = RLENGTH; file = sprintf("%s/block%02d.cpp", dir, n); next }
  inside && /^[ ]*```[ ]*$/ { inside = 0; close(file); next }
  inside { print substr($0, indent + 1) > file }
' "$src/README.md"

blocks=("$tmp"/block*.cpp)
if [ ! -e "${blocks[0]}" ]; then
  echo "no \`\`\`cpp block in README.md" >&2
  exit 1
fi

compile_and_run() {
  local name=$1 file=$2
  echo "== $name"
  "${cxx[@]}" -std=c++20 -Wall -Wextra -Werror -I"$src/include" -I"$build/include" "$file" \
    -o "$tmp/$name" -L"$build" -lspbmm -Wl,-rpath,"$build"
  "$tmp/$name"
}

body="$tmp/fragments.cpp"
{
  echo '#include <cstdio>'
  echo '#include <spbmm/spbmm.hpp>'
  echo 'int main() {'
} > "$body"
fragments=0
for b in "${blocks[@]}"; do
  if grep -q 'int main' "$b"; then
    compile_and_run "$(basename "$b" .cpp)" "$b"
  else
    echo "// $(basename "$b")" >> "$body"
    cat "$b" >> "$body"
    fragments=$((fragments + 1))
  fi
done
echo '}' >> "$body"
if [ "$fragments" -gt 0 ]; then
  compile_and_run "fragments" "$body"
fi
echo "README: ${#blocks[@]} C++ blocks compiled and run"
