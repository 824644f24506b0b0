"""项目组客户转为售后客户: 客服 hands a project unit over to after-sales service."""
