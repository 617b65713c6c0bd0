package hostileftp

import (
	"fmt"
	"strconv"
	"time"
)

// Node is a file, directory or symbolic link of the served tree.
type Node struct {
	// Name is the name exactly as listed, any bytes.
	Name string
	// Dir makes the node a directory of Children.
	Dir      bool
	Children []*Node
	// Link makes the node a symbolic link to this target.
	Link string
	// Data is a file's content.
	Data []byte
	// Time is the modification time; the zero time is listed as
	// 2020-01-02 03:04:05 UTC.
	Time time.Time
	// ListSize, if set, is the size the listing shows, as text, instead
	// of len(Data): a lie, a negative or an overflowing number.
	ListSize string
	// SizeReply, if set, is the text of SIZE's 213 reply instead of the
	// listed size.
	SizeReply string
	// Facts, if set, replaces the MLSD facts of this node (without the
	// "; " that ends them).
	Facts string
}

// File returns a file node.
func File(name string, data []byte, mtime time.Time) *Node {
	return &Node{Name: name, Data: data, Time: mtime}
}

// Dir returns a directory node.
func Dir(name string, children ...*Node) *Node {
	return &Node{Name: name, Dir: true, Children: children}
}

// defaultTime is listed for nodes without a time.
var defaultTime = time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)

func (n *Node) mtime() time.Time {
	if n.Time.IsZero() {
		return defaultTime
	}
	return n.Time.UTC()
}

func (n *Node) listSize() string {
	if n.ListSize != "" {
		return n.ListSize
	}
	return strconv.Itoa(len(n.Data))
}

func (n *Node) sizeReply() string {
	if n.SizeReply != "" {
		return n.SizeReply
	}
	return n.listSize()
}

func (n *Node) mlsdFacts() string {
	if n.Facts != "" {
		return n.Facts
	}
	mod := n.mtime().Format("20060102150405")
	switch {
	case n.Dir:
		return "type=dir;modify=" + mod + ";"
	case n.Link != "":
		return "type=OS.unix=slink:" + n.Link + ";modify=" + mod + ";"
	}
	return "type=file;size=" + n.listSize() + ";modify=" + mod + ";"
}

// listTime is n's time in zone (nil: UTC), for LIST.
func (n *Node) listTime(zone *time.Location) time.Time {
	if zone == nil {
		return n.mtime()
	}
	return n.mtime().In(zone)
}

func (n *Node) unixLine(zone *time.Location) string {
	mode, size := "-rw-r--r--", n.listSize()
	switch {
	case n.Dir:
		mode, size = "drwxr-xr-x", "4096"
	case n.Link != "":
		mode, size = "lrwxrwxrwx", strconv.Itoa(len(n.Link))
	}
	t := n.listTime(zone)
	date := t.Format("Jan _2  2006")
	if time.Since(t) < 150*24*time.Hour && time.Until(t) < 24*time.Hour {
		date = t.Format("Jan _2 15:04")
	}
	name := n.Name
	if n.Link != "" {
		name += " -> " + n.Link
	}
	return fmt.Sprintf("%s    1 ftp      ftp  %12s %s %s", mode, size, date, name)
}

func (n *Node) dosLine(zone *time.Location) string {
	size := fmt.Sprintf("%14s", n.listSize())
	if n.Dir {
		size = "<DIR>         "
	}
	return fmt.Sprintf("%s       %s %s", n.listTime(zone).Format("01-02-06  03:04PM"), size, n.Name)
}
