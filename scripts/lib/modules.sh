# Kernel modules in load order, for initramfs images that insmod them (sourced by scripts).
# modules_in_load_order MODULES_DEP "name1 name2 ...": prints each module's file (relative to the
# modules directory), each after the modules it depends on and each once; fails naming a module
# modules.dep does not have.
modules_in_load_order() {
  awk -v want="$2" -F: '
    { n = $1; sub(/.*\//, "", n); sub(/\.ko.*$/, "", n); file[n] = $1; deps[$1] = $2 }
    function visit(f,   d, i, count) {
      if (f in done) return
      done[f] = 1
      count = split(deps[f], d, " ")
      for (i = 1; i <= count; i++) visit(d[i])
      print f
    }
    END {
      count = split(want, names, " ")
      for (i = 1; i <= count; i++) {
        if (!(names[i] in file)) { print "missing " names[i] > "/dev/stderr"; exit 1 }
        visit(file[names[i]])
      }
    }' "$1"
}

# module_cpio_lines MODDIR LISTFILE FILE...: gen-cpio.sh lines that put each module at /modules/NAME,
# and appends each NAME to LISTFILE (the order /init loads them in). busybox's insmod needs plain .ko.
module_cpio_lines() {
  moddir=$1 listfile=$2
  shift 2
  for file in "$@"; do
    base=${file##*/}
    case $base in *.ko) ;; *) die "$file is compressed: busybox's insmod needs plain .ko files" ;; esac
    printf '%s\n' "$base" >> "$listfile"
    printf 'file /modules/%s %s/%s 0644 0 0\n' "$base" "$moddir" "$file"
  done
}
