"""The documentation's links hold: every relative link in README.md, docs/*.md
and sdk/README.md names a file or folder of the repository, and every #anchor a
heading of its page (as GitHub makes anchors of headings). The README stays a
front page: at most 300 lines.

    python3 tests/docs_links.py SOURCE_DIR
"""
import glob
import os
import re
import sys


def slug(heading):
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path):
    with open(path) as page:
        return {slug(m.group(1)) for m in re.finditer(r"^#{1,6} (.*)$", page.read(), re.M)}


def main(source):
    pages = [os.path.join(source, "README.md"), os.path.join(source, "sdk", "README.md")] + \
        sorted(glob.glob(os.path.join(source, "docs", "*.md")))
    problems = []
    for page in pages:
        with open(page) as text:
            body = re.sub(r"```.*?```", "", text.read(), flags=re.S)  # code is not links
        for target in re.findall(r"\]\(([^)\s]+)\)", body):
            if re.match(r"^[a-z]+:", target):
                continue
            path, _, anchor = target.partition("#")
            resolved = os.path.normpath(os.path.join(os.path.dirname(page), path)) if path \
                else page
            if not os.path.exists(resolved):
                problems.append(f"{os.path.relpath(page, source)}: {target}: no such file")
            elif anchor and resolved.endswith(".md") and anchor not in anchors(resolved):
                problems.append(f"{os.path.relpath(page, source)}: {target}: no such heading")
    with open(os.path.join(source, "README.md")) as readme:
        length = len(readme.read().splitlines())
    if length > 300:
        problems.append(f"README.md: {length} lines, more than 300")
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
