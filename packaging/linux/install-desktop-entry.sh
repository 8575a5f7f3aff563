#!/usr/bin/env bash
# Put LIFT Reader in the desktop's application menu (Linux): the .desktop file, the AppStream
# metadata and the icons, under ~/.local/share by default.
#
#   packaging/linux/install-desktop-entry.sh                          # `lift-reader` is on PATH (pip, pipx)
#   packaging/linux/install-desktop-entry.sh --exec "$PWD/dist/lift-reader/lift-reader"   # the PyInstaller folder
#   packaging/linux/install-desktop-entry.sh --prefix /usr/local      # for all users (as root)
#   packaging/linux/install-desktop-entry.sh --uninstall
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
app_id=io.github.liftreader.LiftReader
prefix="${XDG_DATA_HOME:-$HOME/.local/share}"
exec_path=""
uninstall=0
while [ $# -gt 0 ]; do
    case "$1" in
        --exec) exec_path=$2; shift 2 ;;
        --prefix) prefix="$2/share"; shift 2 ;;
        --uninstall) uninstall=1; shift ;;
        *) echo "unknown option: $1" >&2; exit 2 ;;
    esac
done

icons_src="$repo/resources/icons/hicolor"
if [ "$uninstall" = 1 ]; then
    rm -f "$prefix/applications/$app_id.desktop" "$prefix/metainfo/$app_id.metainfo.xml"
    find "$prefix/icons/hicolor" -name "$app_id.*" -delete 2>/dev/null || true
    echo "removed LIFT Reader's menu entry from $prefix"
else
    if [ -n "$exec_path" ]; then
        case "$exec_path" in /*) ;; *) echo "--exec needs an absolute path" >&2; exit 2 ;; esac
        [ -x "$exec_path" ] || { echo "not an executable: $exec_path" >&2; exit 2; }
    fi
    mkdir -p "$prefix/applications" "$prefix/metainfo"
    desktop="$prefix/applications/$app_id.desktop"
    if [ -n "$exec_path" ]; then
        # Quote the path as the Desktop Entry spec asks (inside double quotes, escape \ " ` $).
        quoted=$(printf '%s' "$exec_path" | sed -e 's/[\\"`$]/\\&/g')
        while IFS= read -r line; do
            case "$line" in
                "Exec=lift-reader "*) printf 'Exec="%s" %s\n' "$quoted" "${line#Exec=lift-reader }" ;;
                TryExec=*) printf 'TryExec=%s\n' "$exec_path" ;;
                *) printf '%s\n' "$line" ;;
            esac
        done < "$here/$app_id.desktop" > "$desktop"
    else
        cp "$here/$app_id.desktop" "$desktop"
    fi
    cp "$here/$app_id.metainfo.xml" "$prefix/metainfo/"
    (cd "$icons_src" && find . -name "$app_id.*" -type f) | while read -r icon; do
        mkdir -p "$prefix/icons/hicolor/$(dirname "$icon")"
        cp "$icons_src/$icon" "$prefix/icons/hicolor/$icon"
    done
    echo "installed LIFT Reader's menu entry: $desktop"
fi
command -v update-desktop-database >/dev/null && update-desktop-database -q "$prefix/applications" || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$prefix/icons/hicolor" || true
