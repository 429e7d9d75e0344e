"""Writes wharf.ini(5) from docs/operating.md's table of config keys, so that
the manual page says what the documentation says, key for key:
    python3 wharf_ini_page.py docs/operating.md wharf.ini.5
"""
import re
import sys


def roff(markdown):
    """Inline Markdown as roff: `code` in bold, links as their text."""
    text = markdown.replace("\\", "\\e")
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = text.replace("**", "")
    text = re.sub(r"`([^`]*)`", lambda code: r"\fB" + code.group(1).replace("-", r"\-") + r"\fR",
                  text)
    return re.sub(r"[^\x00-\x7f]", lambda char: r"\[u%04X]" % ord(char.group()), text)


def rows(readme):
    """(section, key, meaning, default) for each row of the config table."""
    lines = iter(readme.splitlines())
    for line in lines:
        if line.startswith("| section | key | meaning | default |"):
            break
    else:
        raise SystemExit("no config table in docs/operating.md")
    next(lines)  # |---|
    section = None
    for line in lines:
        if not line.startswith("|"):
            return
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        section = cells[0] or section
        yield section, cells[1], " | ".join(cells[2:-1]), cells[-1]


def main(readme_path, page_path):
    with open(readme_path, encoding="utf-8") as readme:
        table = list(rows(readme.read()))
    out = [r'.TH WHARF.INI 5 "2026-12" "wharf" "File Formats"',
           ".SH NAME", r"wharf.ini \- the configuration of wharfd",
           ".SH DESCRIPTION",
           r"An INI file: a \fB[host]\fR section, then one \fB[listener.NAME]\fR section",
           "per listener. Comments start with ; or #, at the start of a line or after",
           "whitespace. Relative paths resolve against the file's folder.",
           r"\fBwharfd \-\-config FILE \-\-check\-config\fR checks a file; a reload applies",
           "it as a whole or not at all."]
    current = None
    for section, key, meaning, default in table:
        if section != current:
            out += [".SH " + section.strip("`")]
            current = section
        out += [".TP", roff(key), roff(meaning) + "."]
        if default:
            out += [".br", "Default: " + roff(default) + "."]
    out += [".SH SEE ALSO", r".BR wharfd (8),", r".BR wharfctl (8),",
            r".I /usr/share/doc/wharf/operating.md"]
    with open(page_path, "w", encoding="utf-8") as page:
        page.write("\n".join(line if not line.startswith(("'", ".")) or line.startswith(
            (".TH", ".SH", ".TP", ".br", ".BR", ".I ")) else "\\&" + line
            for line in out) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:])
