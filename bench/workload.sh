#!/bin/bash
# The end-to-end workload, a small coding-agent session in directory $1:
# version control, a C build, Python spawning children.
set -euo pipefail
cd "$1" && git init -q repo && cd repo
for i in $(seq 1 20); do printf 'int f%d(int x) { return x + %d; }\n' "$i" "$i" > "f$i.c"; done
printf '#include <stdio.h>\nint f1(int);\nint main(void) { printf("%%d\\n", f1(41)); return 0; }\n' > main.c
git add -A && git -c user.name=bench -c user.email=bench@example.invalid commit -q -m "initial"
gcc -O2 -o app main.c f1.c f2.c f3.c && ./app > /dev/null
git status --porcelain > /dev/null && git log --oneline > /dev/null
/usr/bin/python3 -c 'import os, subprocess, sys
for _ in range(10): subprocess.run(["git", "rev-parse", "HEAD"], check=True, capture_output=True)
subprocess.run("ls -la | wc -l", shell=True, check=True, capture_output=True)
os.system("true")'
