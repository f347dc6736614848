/* placeholder: being written */
typedef int hippo_placeholder_head;
